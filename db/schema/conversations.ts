import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import type { MediaItem } from "../../src/domain/inbound-sms";
import { clinics, patients } from "./clinic";

export const conversations = pgTable("conversations", {
  id: uuid("id").primaryKey().defaultRandom(),
  channel: text("channel").notNull(),
  usecase: text("usecase").notNull(),
  workflowId: text("workflow_id"),
  /** Null for a patient's SMS conversation: the clinic's default callback_url is used then. */
  callbackUrl: text("callback_url"),
  clinicId: uuid("clinic_id").references(() => clinics.id),
  patientId: uuid("patient_id").references(() => patients.id),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex("conversations_patient_channel_key").on(t.patientId, t.channel).where(sql`patient_id is not null`),
]);

export const messages = pgTable("messages", {
  id: uuid("id").primaryKey().defaultRandom(),
  conversationId: uuid("conversation_id").notNull().references(() => conversations.id),
  content: text("content").notNull(),
  /** TEXT, IMAGE, VIDEO, AUDIO, DOCUMENT */
  contentType: text("content_type").notNull(),
  /** USER_INPUT, BOT, ... */
  type: text("type").notNull(),
  channel: text("channel").notNull(),
  status: text("status").notNull(),
  filename: text("filename"),
  metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
  media: jsonb("media").$type<MediaItem[]>().notNull().default([]),
  /** The provider's id (Twilio MessageSid) when the message came from or went to a provider. */
  externalId: text("external_id"),
  createdBy: text("created_by").notNull(),
  updatedBy: text("updated_by").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  index("messages_conversation_idx").on(t.conversationId, t.createdAt),
  uniqueIndex("messages_external_type_key").on(t.externalId, t.type).where(sql`external_id is not null`),
]);

/** Events for a clinic's callback URL that are not conversation messages (sms.failed, appointment requests). */
export const clinicEvents = pgTable("clinic_events", {
  id: uuid("id").primaryKey().defaultRandom(),
  clinicId: uuid("clinic_id").notNull().references(() => clinics.id),
  type: text("type").notNull(),
  dedupeKey: text("dedupe_key").notNull(),
  data: jsonb("data").$type<Record<string, unknown>>().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex("clinic_events_dedupe_key").on(t.dedupeKey)]);
