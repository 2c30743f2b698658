ALTER TABLE "appointment_history" DROP CONSTRAINT "appointment_history_appointment_id_appointments_id_fk";
--> statement-breakpoint
ALTER TABLE "transactions" DROP CONSTRAINT "transactions_appointment_id_appointments_id_fk";
--> statement-breakpoint
ALTER TABLE "sms_messages" DROP CONSTRAINT "sms_messages_clinic_id_clinics_id_fk";
--> statement-breakpoint
ALTER TABLE "sms_messages" DROP CONSTRAINT "sms_messages_patient_id_patients_id_fk";
--> statement-breakpoint
ALTER TABLE "sms_messages" DROP CONSTRAINT "sms_messages_appointment_id_appointments_id_fk";
--> statement-breakpoint
ALTER TABLE "sms_status_events" DROP CONSTRAINT "sms_status_events_sms_message_id_sms_messages_id_fk";
