import type Stripe from "stripe";

/** An appointment id as Switchboard makes them (a UUID, any case). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** metadata.booking_id (alias appointment_id) of a Stripe object, if it names one. */
export function metadataAppointmentId(object: { metadata?: Stripe.Metadata | null }): string | undefined {
  return (object.metadata?.booking_id ?? object.metadata?.appointment_id) || undefined;
}
