export { Broker, startBroker } from './broker-service.js';
export { brokerConfig, type BrokerConfig } from './broker-config.js';
export { logConfigFor } from './topic-log-config.js';
