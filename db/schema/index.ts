export * from "./clinic";
export * from "./inbound";
export * from "./messaging";
export * from "./api";
export * from "./conversations";
export * from "./sms";
export * from "./outbound";
export * from "./audit";
