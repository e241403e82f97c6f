export interface Device {
  id: string
  appId: string
  name: string | null
  tags: Record<string, string>
  enabled: boolean
  createdAt: number
  lastSeenAt: number | null
}
