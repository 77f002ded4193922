-- +goose Up
-- A job that leaves pending/running (completed, failed, cancelled: by any
-- path) sends its id on channel job_ended, so callers waiting for it (GET
-- .../status?wait=) wake at once instead of polling. Notifications are sent
-- when the transaction commits.
-- +goose StatementBegin
CREATE FUNCTION notify_job_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('job_ended', NEW.id::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER job_tracking_ended AFTER UPDATE OF status ON job_tracking FOR EACH ROW
    WHEN (OLD.status IN ('pending', 'running') AND NEW.status NOT IN ('pending', 'running'))
    EXECUTE FUNCTION notify_job_ended();

-- +goose Down
DROP TRIGGER job_tracking_ended ON job_tracking;
DROP FUNCTION notify_job_ended();
