export { commandFilter, commandTopic, eventTopic } from './topics.js'
