-- Clinics, patients, appointments and SMS are named by id without a foreign key by the rows processing inserts
-- (migration 0016, NAMED_WITHOUT_FOREIGN_KEY in db/schema/clinic.ts). Nothing in Switchboard deletes them; these
-- triggers make that a rule of the database, so a named row cannot disappear under the rows that name it.
CREATE FUNCTION switchboard_rows_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are never deleted: other rows name them by id without a foreign key', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$;
--> statement-breakpoint
CREATE TRIGGER clinics_stay BEFORE DELETE OR TRUNCATE ON clinics
  FOR EACH STATEMENT EXECUTE FUNCTION switchboard_rows_stay();
--> statement-breakpoint
CREATE TRIGGER patients_stay BEFORE DELETE OR TRUNCATE ON patients
  FOR EACH STATEMENT EXECUTE FUNCTION switchboard_rows_stay();
--> statement-breakpoint
CREATE TRIGGER appointments_stay BEFORE DELETE OR TRUNCATE ON appointments
  FOR EACH STATEMENT EXECUTE FUNCTION switchboard_rows_stay();
--> statement-breakpoint
CREATE TRIGGER sms_messages_stay BEFORE DELETE OR TRUNCATE ON sms_messages
  FOR EACH STATEMENT EXECUTE FUNCTION switchboard_rows_stay();
