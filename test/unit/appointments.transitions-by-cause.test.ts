import { describe, expect, test } from "bun:test";
import { APPOINTMENT_STATUSES, canTransition, paymentEffect } from "../../src/domain/appointments";

describe("the transition table", () => {
  test("after a CANCEL or RESCHEDULE request only a person confirms: the patient by text or the clinic", () => {
    for (const from of ["cancellation_requested", "reschedule_requested"] as const) {
      expect(canTransition(from, "confirmed", "sms")).toBe(true);
      expect(canTransition(from, "confirmed", "api")).toBe(true);
      expect(canTransition(from, "confirmed", "webhook_event")).toBe(false);
      expect(canTransition(from, "confirmed", "job")).toBe(false);
    }
    expect(canTransition("payment_pending", "confirmed", "webhook_event")).toBe(true);
    expect(canTransition("payment_pending", "cancelled", "job")).toBe(true);
  });

  test("cancelled and completed are final for every cause", () => {
    for (const to of APPOINTMENT_STATUSES) {
      for (const by of ["webhook_event", "sms", "api", "job"] as const) {
        expect(canTransition("cancelled", to, by)).toBe(false);
        expect(canTransition("completed", to, by)).toBe(false);
      }
    }
  });
});

describe("what a successful payment does", () => {
  test("confirms where the table lets a payment confirm; elsewhere keeps the status and says whom to tell", () => {
    expect(paymentEffect("pending")).toEqual({ kind: "confirm" });
    expect(paymentEffect("payment_pending")).toEqual({ kind: "confirm" });
    expect(paymentEffect("confirmed")).toEqual({ kind: "confirm" });
    expect(paymentEffect("cancelled")).toEqual({ kind: "keep", notify: "appointment.payment_after_cancel" });
    expect(paymentEffect("cancellation_requested"))
      .toEqual({ kind: "keep", notify: "appointment.payment_after_cancel" });
    expect(paymentEffect("reschedule_requested"))
      .toEqual({ kind: "keep", notify: "appointment.payment_after_reschedule_request" });
    expect(paymentEffect("completed")).toEqual({ kind: "keep", notify: null });
  });
});
