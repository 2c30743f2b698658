import type { messages } from "../../db/schema";

type Message = typeof messages.$inferSelect;

/** The body SPEC 6 fixes for a conversation message: `{conversation_id, data, timestamp}`. */
export function messagePayload(message: Message, now: Date) {
  return {
    conversation_id: message.conversationId,
    data: {
      id: message.id,
      content: message.content,
      content_type: message.contentType,
      ...(message.filename ? { filename: message.filename } : {}),
      type: message.type,
      channel: message.channel,
      status: message.status,
      metadata: message.metadata,
      created_by: message.createdBy,
      updated_by: message.updatedBy,
      created_at: message.createdAt.toISOString(),
      updated_at: message.updatedAt.toISOString(),
    },
    timestamp: now.toISOString(),
  };
}
