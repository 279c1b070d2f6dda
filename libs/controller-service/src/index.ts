export { Controller, startController } from './controller.js';
export { controllerConfig, resolveDatabaseUrl, type ControllerConfig } from './controller-config.js';
export { assignReplicas, placeReplicas } from './replica-assignment.js';
