export { groupCoordinatorConfig, startGroupCoordinator, type GroupCoordinatorConfig } from './group-coordinator-service.js';
