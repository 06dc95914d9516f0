// Watching the bus: taps, the events they are read as, and the tail that pairs and filters them.
export { describeTapped, topicOf, type BusEvent, type BusEventKind, type BusFailure } from './bus-event';
export { CallPairing } from './call-pairing';
export { DEFAULT_BEHIND_AT, startBusTail, TailMonitor, type BusTail, type BusTailOptions, type TailNotice } from './bus-tail';
export { checkTailFilter, FILTER_KEYS, hostOf, matchesTailFilter, type BusTailFilter } from './tail-filter';
export { tapClock, type BusTap, type TapHandler, type TapOptions, type TappedMessage, type TappedRoute, type TapStats } from './tapped-message';
