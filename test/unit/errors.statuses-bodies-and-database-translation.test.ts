import { describe, expect, test } from "bun:test";
import { callerError, isConnectionError, isTransactionAbort } from "../../src/db";
import { parseStatusCallback } from "../../src/domain/sms-status";
import { AppError, badRequest, notFound } from "../../src/errors";

const pgError = (code: string) => Object.assign(new Error("postgres said no"), { code });

describe("AppError", () => {
  test("carries its status and the API's error body, details only when given", () => {
    expect(notFound("clinic"))
      .toMatchObject({ status: 404, body: { error: { code: "not_found", message: "clinic not found" } } });
    expect(notFound("clinic").body.error).not.toHaveProperty("details");
    const bad = badRequest("phone: must be E.164", [{ field: "phone" }]);
    expect(bad.body)
      .toEqual({ error: { code: "bad_request", message: "phone: must be E.164", details: [{ field: "phone" }] } });
  });

  test("has no `code` of its own, so Elysia finds the class registered for it", () => {
    const error = new AppError(409, "conflict", "taken");
    expect("code" in error).toBe(false);
    expect(error.errorCode).toBe("conflict");
  });
});

describe("database errors", () => {
  test("a data exception (SQLSTATE class 22) is the caller's 400, also when it is the cause", () => {
    for (const error of [pgError("22003"), pgError("22021"), new Error("wrapped", { cause: pgError("22P02") })]) {
      expect(callerError(error)).toMatchObject({ status: 400, errorCode: "invalid_value" });
    }
  });

  test("anything else is not the caller's", () => {
    for (const error of [pgError("23505"), pgError("40P01"), pgError("ECONNREFUSED"), new Error("boom"), undefined]) {
      expect(callerError(error)).toBeUndefined();
    }
  });

  test("deadlocks and serialization failures abort the transaction; a refused connection is the database's", () => {
    expect([isTransactionAbort(pgError("40P01")), isTransactionAbort(pgError("40001"))]).toEqual([true, true]);
    expect(isTransactionAbort(pgError("23505"))).toBe(false);
    expect([isConnectionError(pgError("ECONNREFUSED")), isConnectionError(pgError("57P01"))]).toEqual([true, true]);
    expect(isConnectionError(pgError("22003"))).toBe(false);
  });
});

describe("parseStatusCallback", () => {
  test("reads MessageSid and MessageStatus (or the Sms* names), lower-cased, with the error code", () => {
    const params = new URLSearchParams({ SmsSid: "SM1", SmsStatus: "Undelivered", ErrorCode: "30003" });
    expect(parseStatusCallback(params)).toMatchObject({ sid: "SM1", status: "undelivered", errorCode: "30003" });
  });

  test("is undefined without a sid or a status", () => {
    expect(parseStatusCallback(new URLSearchParams({ MessageSid: "SM1" }))).toBeUndefined();
    expect(parseStatusCallback(new URLSearchParams({ MessageStatus: "sent" }))).toBeUndefined();
  });
});
