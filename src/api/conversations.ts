import { and, eq } from "drizzle-orm";
import { Elysia } from "elysia";
import { conversations, messages, webhookEndpoints } from "../../db/schema";
import type { Deps } from "../deps";
import { recordMessage } from "../effects/messages";
import { AppError, notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { messagePayload } from "../outbound/payload";
import { createConversationEndpoint, rotateSecret } from "../outbound/store";
import { managementApi } from "./auth";
import { checkCallbackUrl } from "./callback-url";
import { apiDetail, IdParam } from "./models";
import {
  Conversation,
  ConversationCreate,
  ConversationCreated,
  Message,
  MessageCreate,
  METADATA_MAX_BYTES,
  SecretRotated,
} from "./outbound-models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("conversations");
const OLDEST_FIRST: Keyset = { sort: messages.createdAt, id: messages.id, idType: "uuid", direction: "asc" };

/** metadata travels in every delivery of the message: a size limit of its own, below the body limit. */
function checkMetadata(metadata: Record<string, unknown> | undefined): void {
  const bytes = Buffer.byteLength(JSON.stringify(metadata ?? {}));
  if (bytes <= METADATA_MAX_BYTES) return;
  const message = `must be at most ${METADATA_MAX_BYTES} bytes as JSON (got ${bytes})`;
  throw new AppError(400, "validation", `metadata: ${message}`, [{ field: "metadata", message }]);
}
type Row = typeof conversations.$inferSelect;

const conversationDto = (c: Row, endpointId: string | null) => ({
  id: c.id,
  channel: c.channel,
  usecase: c.usecase,
  config: { workflow_id: c.workflowId, callback_url: c.callbackUrl },
  clinic_id: c.clinicId,
  patient_id: c.patientId,
  endpoint_id: endpointId,
  created_at: c.createdAt.toISOString(),
});

const messageDto = (m: typeof messages.$inferSelect) => {
  const { conversation_id, data } = messagePayload(m, new Date());
  return { ...data, conversation_id };
};

export function conversationRoutes(deps: Deps) {
  const find = async (id: string) => {
    const [row] = await deps.db.select().from(conversations).where(eq(conversations.id, id));
    if (!row) throw notFound("conversation");
    return row;
  };
  const endpointOf = async (id: string) => {
    const [row] = await deps.db
      .select({ id: webhookEndpoints.id })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.conversationId, id));
    return row?.id ?? null;
  };
  return new Elysia({ prefix: "/v1/conversations" }).use(managementApi(deps))
    .post(
      "",
      async ({ body, set }) => {
        await checkCallbackUrl(deps, body.config.callback_url);
        const { conversation, endpoint } = await deps.db.transaction(async (tx) => {
          const [conversation] = await tx
            .insert(conversations)
            .values({
              channel: body.channel,
              usecase: body.usecase,
              workflowId: body.config.workflow_id,
              callbackUrl: body.config.callback_url,
            })
            .returning();
          return {
            conversation: conversation!,
            endpoint: await createConversationEndpoint(tx, conversation!.id, body.config.callback_url),
          };
        });
        set.status = 201;
        return { ...conversationDto(conversation, endpoint.id), webhook_secret: endpoint.secret };
      },
      {
        body: ConversationCreate,
        response: { 201: ConversationCreated, 400: ErrorBody },
        detail: detail(
          "createConversation",
          "Create a conversation; the response carries its webhook signing secret, shown only this once",
        ),
      },
    )
    .get("/:id", async ({ params }) => conversationDto(await find(params.id), await endpointOf(params.id)), {
      params: IdParam,
      response: { 200: Conversation, 404: ErrorBody },
      detail: detail("getConversation", "Show a conversation"),
    })
    .post(
      "/:id/messages",
      async ({ params, body, set }) => {
        checkMetadata(body.metadata);
        const conversation = await find(params.id);
        const message = await deps.db.transaction(async (tx) => {
          const id = await recordMessage(tx, {
            conversationId: conversation.id,
            content: body.content,
            contentType: body.content_type,
            type: body.type,
            channel: conversation.channel,
            status: "received",
            filename: body.filename,
            metadata: body.metadata ?? {},
            createdBy: "api",
            updatedBy: "api",
          });
          const [row] = await tx.select().from(messages).where(eq(messages.id, id!));
          return row!;
        });
        set.status = 201;
        return messageDto(message);
      },
      {
        params: IdParam,
        body: MessageCreate,
        response: { 201: Message, 400: ErrorBody, 404: ErrorBody },
        detail: detail("createMessage", "Add a message; it is delivered to the callback URL"),
      },
    )
    .get(
      "/:id/messages",
      async ({ params, query }) => {
        await find(params.id);
        const limit = query.limit ?? 50;
        const rows = await deps.db
          .select({ row: messages, _position: position(OLDEST_FIRST) })
          .from(messages)
          .where(and(eq(messages.conversationId, params.id), after(OLDEST_FIRST, query.cursor)))
          .orderBy(...orderBy(OLDEST_FIRST))
          .limit(limit + 1);
        return toPage(rows, limit, ({ row }) => messageDto(row));
      },
      {
        params: IdParam,
        query: PageQuery,
        response: { 200: page(Message), 404: ErrorBody },
        detail: detail("listMessages", "List a conversation's messages, oldest first"),
      },
    )
    .post(
      "/:id/rotate-secret",
      async ({ params }) => {
        await find(params.id);
        const endpointId = await endpointOf(params.id);
        if (!endpointId) throw notFound("webhook endpoint of this conversation (it uses its clinic's callback URL)");
        return (await rotateSecret(deps.db, endpointId, deps.config.OUTBOUND_SECRET_OVERLAP_MS))!;
      },
      {
        params: IdParam,
        response: { 200: SecretRotated, 404: ErrorBody },
        detail: detail(
          "rotateConversationSecret",
          "Rotate the signing secret; the old one also signs (a second v1 signature) for 24 hours",
        ),
      },
    );
}
