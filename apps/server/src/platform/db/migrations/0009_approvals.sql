-- Approvals (two-person rule) and the per-user in-app inbox.
-- One policy per request kind; requests carry a snapshot of the policy they were filed under, the
-- scope the approvers see (never personal data), and their deadlines. One decision per person per
-- request (primary key); a person can never decide their own request (trigger, whatever the roles).

CREATE TABLE approval_policies (
  kind                  text PRIMARY KEY,
  required_approvals    integer NOT NULL CHECK (required_approvals BETWEEN 1 AND 10),
  rejections_to_end     integer NOT NULL CHECK (rejections_to_end BETWEEN 1 AND 10),
  eligible_roles        text[] NOT NULL DEFAULT '{}'
                        CHECK (eligible_roles <@ ARRAY['administrator', 'cpo', 'auditor', 'security_center', 'data_owner', 'handler', 'transmission_approver', 'cio', 'hr']::text[]),
  eligible_group_ids    text[] NOT NULL DEFAULT '{}',
  requester_supervisor  boolean NOT NULL DEFAULT false,
  request_ttl_minutes   integer NOT NULL CHECK (request_ttl_minutes BETWEEN 5 AND 43200),
  grant_max_minutes     integer NOT NULL CHECK (grant_max_minutes BETWEEN 5 AND 43200),
  break_glass_user_ids  text[] NOT NULL DEFAULT '{}',
  updated_at            timestamptz NOT NULL,
  updated_by            uuid REFERENCES users (id),
  version               integer NOT NULL DEFAULT 1,
  -- Somebody must be able to approve.
  CHECK (cardinality(eligible_roles) > 0 OR cardinality(eligible_group_ids) > 0 OR requester_supervisor)
);

-- Defaults: one approval by a second, eligible person; one rejection ends the request; a request
-- waits 3 days; an approval is usable for 24 hours from the moment it is given. No break-glass user.
INSERT INTO approval_policies (kind, required_approvals, rejections_to_end, eligible_roles, requester_supervisor, request_ttl_minutes, grant_max_minutes, updated_at) VALUES
  ('extraction',     1, 1, ARRAY['data_owner', 'cpo'],          true,  4320, 1440, now()),
  ('transmission',   1, 1, ARRAY['transmission_approver'],      false, 4320, 1440, now()),
  ('device_takeout', 1, 1, ARRAY['security_center'],            true,  4320, 1440, now()),
  ('custody_return', 1, 1, ARRAY['security_center'],            false, 4320, 1440, now()),
  ('general',        1, 1, ARRAY['cpo', 'security_center'],     true,  4320, 1440, now());

CREATE TABLE approval_requests (
  id                    uuid PRIMARY KEY,
  kind                  text NOT NULL REFERENCES approval_policies (kind),
  requester_id          uuid NOT NULL REFERENCES users (id),
  state                 text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'cancelled', 'expired', 'consumed')),
  summary               text NOT NULL,
  -- json, not jsonb: the text is kept exactly as filed (key order included), which is what approvers see.
  scope                 json NOT NULL,
  -- The using module's own id for what is approved (an extraction job, a held message).
  subject_ref           text,
  -- The policy as it was when the request was filed.
  required_approvals    integer NOT NULL CHECK (required_approvals >= 1),
  rejections_to_end     integer NOT NULL CHECK (rejections_to_end >= 1),
  eligible_roles        text[] NOT NULL,
  eligible_group_ids    text[] NOT NULL,
  requester_supervisor  boolean NOT NULL,
  grant_minutes         integer NOT NULL CHECK (grant_minutes >= 1),
  created_at            timestamptz NOT NULL,
  expires_at            timestamptz NOT NULL,
  approved_at           timestamptz,
  valid_until           timestamptz,
  closed_at             timestamptz,
  consumed_at           timestamptz,
  consumed_ref          text,
  break_glass_reason    text,
  version               integer NOT NULL DEFAULT 1,
  CHECK (state <> 'approved' OR (approved_at IS NOT NULL AND valid_until IS NOT NULL)),
  CHECK (state <> 'consumed' OR consumed_at IS NOT NULL)
);
CREATE INDEX approval_requests_open_idx ON approval_requests (state, expires_at) WHERE state IN ('pending', 'approved');
CREATE INDEX approval_requests_requester_idx ON approval_requests (requester_id, created_at DESC);
CREATE INDEX approval_requests_created_idx ON approval_requests (created_at);

CREATE TABLE approval_decisions (
  request_id        uuid NOT NULL REFERENCES approval_requests (id),
  approver_id       uuid NOT NULL REFERENCES users (id),
  decision          text NOT NULL CHECK (decision IN ('approve', 'reject')),
  reason            text NOT NULL,
  decided_at        timestamptz NOT NULL,
  withdrawn_at      timestamptz,
  withdrawn_reason  text,
  PRIMARY KEY (request_id, approver_id)
);
CREATE INDEX approval_decisions_approver_idx ON approval_decisions (approver_id);

-- Defence in depth for the two-person rule: the service refuses self-approval first; the database
-- refuses it again, so no code path (and no setting) can record one.
CREATE FUNCTION mamori_approval_not_self() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM approval_requests r WHERE r.id = NEW.request_id AND r.requester_id = NEW.approver_id) THEN
    RAISE EXCEPTION 'a requester cannot decide their own approval request' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER approval_decisions_not_self BEFORE INSERT OR UPDATE ON approval_decisions
  FOR EACH ROW EXECUTE FUNCTION mamori_approval_not_self();

-- Break-glass: the after-the-fact review each bypass opens; it stays open until a security center
-- member or the CPO closes it with a note.
CREATE TABLE approval_reviews (
  id          uuid PRIMARY KEY,
  request_id  uuid NOT NULL UNIQUE REFERENCES approval_requests (id),
  reason      text NOT NULL,
  opened_at   timestamptz NOT NULL,
  closed_at   timestamptz,
  closed_by   uuid REFERENCES users (id),
  note        text,
  CHECK ((closed_at IS NULL) = (closed_by IS NULL) AND (closed_at IS NULL) = (note IS NULL))
);
CREATE INDEX approval_reviews_open_idx ON approval_reviews (opened_at) WHERE closed_at IS NULL;

-- The in-app inbox. `params` holds ids, kinds, counts and the words people wrote for the decision.
CREATE TABLE notifications (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id),
  kind        text NOT NULL,
  params      jsonb NOT NULL,
  link        text,
  created_at  timestamptz NOT NULL,
  read_at     timestamptz
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
