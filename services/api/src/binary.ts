// The API service's name in the services table (os-services leaves it out, as Nova does its API services).
export { API_BINARY } from '@ferry/common/service';
