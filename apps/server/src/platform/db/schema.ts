/**
 * Kysely's view of the tables created by ./migrations. Kept by hand next to the SQL: a column added
 * in a migration is added here in the same commit.
 */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface DB {
  organisation: { id: string; name: string; created_at: Timestamp };
  departments: { id: string; name: string; created_at: Timestamp };
  users: {
    id: string;
    login: string;
    display_name: string;
    email: string | null;
    kind: 'person' | 'service';
    employment_type: string;
    department_id: string | null;
    supervisor_id: string | null;
    status: string;
    status_changed_at: Timestamp | null;
    password_hash: string | null;
    password_change_required: boolean;
    totp_secret_sealed: Buffer | null;
    totp_enrolled_at: Timestamp | null;
    totp_last_step: number | null;
    failed_logins: Generated<number>;
    locked_until: Timestamp | null;
    created_at: Timestamp;
    updated_at: Timestamp;
    version: Generated<number>;
    external_id: string | null;
    employee_number: string | null;
    user_type: string | null;
    given_name: string | null;
    family_name: string | null;
    title: string | null;
    retire_at: Timestamp | null;
    scim_deleted_at: Timestamp | null;
    oidc_subject: string | null;
  };
  user_roles: { user_id: string; role: string; granted_at: Timestamp };
  groups: { id: string; name: string; created_at: Timestamp; external_id: string | null; updated_at: Timestamp | null; version: Generated<number> };
  group_members: { group_id: string; user_id: string };
  sessions: {
    id: Buffer;
    user_id: string;
    csrf_token: string;
    created_at: Timestamp;
    last_seen_at: Timestamp;
    expires_at: Timestamp;
    mfa_at: Timestamp | null;
    ip: string | null;
    user_agent: string | null;
    terminal_id: string | null;
    revoked_at: Timestamp | null;
    revoked_reason: string | null;
  };
  api_tokens: {
    id: string;
    user_id: string;
    name: string;
    token_hash: Buffer;
    created_at: Timestamp;
    created_by: string | null;
    expires_at: Timestamp | null;
    revoked_at: Timestamp | null;
    last_used_at: Timestamp | null;
  };
  datasets: {
    id: string;
    name: string;
    label_ja: string;
    label_en: string;
    description: string;
    owner_user_id: string;
    department_id: string | null;
    purposes: string[];
    source: string;
    storage_location: string;
    vdi_only: boolean;
    created_at: Timestamp;
    updated_at: Timestamp;
    version: Generated<number>;
    /** The dataset's block of field ids, and its partition of record_terms (migration 0022); set by the database, never changed. */
    term_block: ColumnType<number, never, never>;
  };
  dataset_fields: {
    dataset_id: string;
    name: string;
    position: number;
    label_ja: string;
    label_en: string;
    classification: string;
    kind: string;
    search: string;
    /** Database-wide id of the field in record_terms: the dataset's term_block × 256 + position, set by the database (migrations 0010, 0022). */
    term_field: ColumnType<number, never, never>;
  };
  dataset_keys: {
    dataset_id: string;
    key_id: string;
    purpose: 'data' | 'index';
    master_key_id: string;
    wrapped: Buffer;
    active: boolean;
    created_at: Timestamp;
  };
  records: {
    id: string;
    dataset_id: string;
    public: ColumnType<Record<string, string>, string, string>;
    sealed: Buffer | null;
    key_id: string | null;
    created_at: Timestamp;
    updated_at: Timestamp;
    version: Generated<number>;
  };
  /** term: record_term(field id, term bytes) — the field's id, four bytes big-endian, then the term (migration 0019). */
  record_terms: { term: Buffer; record_id: string };
  grants: {
    id: string;
    dataset_id: string;
    subject_type: 'user' | 'group';
    subject_id: string;
    fields: string[];
    unmask_fields: string[];
    purposes: string[];
    can_write: boolean;
    valid_from: Timestamp;
    valid_until: Timestamp;
    status: 'active' | 'suspended' | 'revoked';
    reason: string;
    granted_by: string;
    created_at: Timestamp;
    revoked_at: Timestamp | null;
    revoked_by: string | null;
    suspended_at: Timestamp | null;
    suspended_reason: string | null;
  };
  scim_clients: { id: string; name: string; service_user_id: string; created_at: Timestamp; created_by: string | null; revoked_at: Timestamp | null };
  scim_tokens: { id: string; client_id: string; token_hash: Buffer; created_at: Timestamp; created_by: string | null; revoked_at: Timestamp | null; last_used_at: Timestamp | null };
  oidc_flows: { id: Buffer; state: string; nonce: string; code_verifier: string; created_at: Timestamp; expires_at: Timestamp };
  webauthn_credentials: {
    id: string;
    user_id: string;
    public_key: Buffer;
    counter: ColumnType<string | number, number, number>;
    transports: string[];
    device_type: string;
    backed_up: boolean;
    name: string;
    created_at: Timestamp;
    last_used_at: Timestamp | null;
    removed_at: Timestamp | null;
  };
  webauthn_challenges: { session_id: Buffer; purpose: 'register' | 'authenticate'; challenge: string; expires_at: Timestamp };
  /**
   * Appended in business transactions; the sequencer moves them into audit_events (ADR 0003). The
   * searchable columns are supplied by the appender, or all NULL: then the sequencer derives them from
   * the bytes (migration 0018).
   */
  audit_pending: {
    id: Generated<number>;
    payload: string;
    at: Timestamp | null;
    actor_user_id: string | null;
    action: string | null;
    dataset_id: string | null;
    record_ids: string[] | null;
    decision: string | null;
  };
  /** Integrated events: written only by the sequencer, append-only (a trigger refuses UPDATE/DELETE). */
  audit_events: {
    id: number;
    payload: string;
    at: Timestamp;
    actor_user_id: string | null;
    action: string;
    dataset_id: string | null;
    record_ids: string[];
    decision: string;
    log_index: number;
    leaf_hash: Buffer;
  };
  /** Tree nodes of one level in rows of up to 32: nodes (level, 32·tile + i), 32 bytes each (migration 0018). */
  audit_tree_tiles: { level: number; tile: number; hashes: Buffer };
  audit_checkpoints: { tree_size: number; root_hash: Buffer; note: string; created_at: Timestamp };
  audit_tree_state: { id: number; tree_size: number; compact: Buffer[]; root_hash: Buffer; updated_at: Timestamp };
  approval_policies: {
    kind: string;
    required_approvals: number;
    rejections_to_end: number;
    eligible_roles: string[];
    eligible_group_ids: string[];
    requester_supervisor: boolean;
    request_ttl_minutes: number;
    grant_max_minutes: number;
    break_glass_user_ids: string[];
    updated_at: Timestamp;
    updated_by: string | null;
    version: Generated<number>;
  };
  approval_requests: {
    id: string;
    kind: string;
    requester_id: string;
    state: 'pending' | 'approved' | 'rejected' | 'cancelled' | 'expired' | 'consumed';
    summary: string;
    scope: ColumnType<Record<string, unknown>, string, string>;
    subject_ref: string | null;
    required_approvals: number;
    rejections_to_end: number;
    eligible_roles: string[];
    eligible_group_ids: string[];
    requester_supervisor: boolean;
    grant_minutes: number;
    created_at: Timestamp;
    expires_at: Timestamp;
    approved_at: Timestamp | null;
    valid_until: Timestamp | null;
    closed_at: Timestamp | null;
    consumed_at: Timestamp | null;
    consumed_ref: string | null;
    break_glass_reason: string | null;
    version: Generated<number>;
  };
  approval_decisions: {
    request_id: string;
    approver_id: string;
    decision: 'approve' | 'reject';
    reason: string;
    decided_at: Timestamp;
    withdrawn_at: Timestamp | null;
    withdrawn_reason: string | null;
  };
  approval_reviews: {
    id: string;
    request_id: string;
    reason: string;
    opened_at: Timestamp;
    closed_at: Timestamp | null;
    closed_by: string | null;
    note: string | null;
  };
  notifications: {
    id: string;
    user_id: string;
    kind: string;
    params: ColumnType<Record<string, unknown>, string, string>;
    link: string | null;
    created_at: Timestamp;
    read_at: Timestamp | null;
  };
  audit_export_cursors: {
    id: string;
    kind: 'syslog' | 'https' | 'file';
    target: string;
    next_seq: Generated<number>;
    inflight_to: number | null;
    last_success_at: Timestamp | null;
    last_error: string | null;
    last_error_at: Timestamp | null;
    heartbeat_at: Timestamp | null;
    created_at: Generated<Timestamp>;
  };
  outbox: {
    id: string;
    kind: string;
    category: string;
    related_id: string | null;
    payload: ColumnType<unknown, string, string>;
    status: Generated<'pending' | 'sent' | 'failed'>;
    attempts: Generated<number>;
    next_attempt_at: Timestamp;
    claimed_until: Timestamp | null;
    last_attempt_at: Timestamp | null;
    last_error: string | null;
    sent_at: Timestamp | null;
    created_at: Timestamp;
  };
  monitor_settings: { id: number; rules: ColumnType<unknown, string, string>; version: number; updated_at: Timestamp; updated_by: string | null };
  monitor_cursor: { id: number; next_index: number; updated_at: Timestamp };
  monitor_observations: { rule: string; subject: string; at: Timestamp; log_index: number; weight: number };
  monitor_alerts: {
    id: string;
    rule: string;
    severity: string;
    status: Generated<string>;
    dedup_key: string;
    subject: string;
    subject_user_id: string | null;
    summary: ColumnType<unknown, string, string>;
    evidence: number[];
    event_count: number;
    first_event_at: Timestamp;
    last_event_at: Timestamp;
    created_at: Timestamp;
    updated_at: Timestamp;
    acknowledged_at: Timestamp | null;
    acknowledged_by: string | null;
    closed_at: Timestamp | null;
    closed_by: string | null;
    close_note: string | null;
    notes: ColumnType<unknown, string | undefined, string>;
  };
  audit_verification_runs: {
    id: string;
    seq: Generated<number>;
    started_by: string | null;
    source: 'console' | 'api' | 'cli';
    status: 'running' | 'ok' | 'failed' | 'error';
    started_at: Timestamp;
    heartbeat_at: Timestamp;
    finished_at: Timestamp | null;
    done: Generated<number>;
    total: Generated<number>;
    tree_size: number | null;
    root_hash: Buffer | null;
    checkpoints: number | null;
    witness_checkpoints: number | null;
    problem: ColumnType<unknown, string | null, string | null> | null;
    error: string | null;
  };
  extractions: {
    id: string;
    dataset_id: string;
    requester_id: string;
    approval_request_id: string | null;
    state: 'pending_approval' | 'running' | 'ready' | 'downloaded' | 'failed' | 'rejected' | 'expired' | 'cancelled';
    purpose: string;
    fields: string[];
    format: 'csv_utf8' | 'csv_sjis' | 'xlsx';
    filter: ColumnType<unknown, string, string>;
    recipient_kind: 'internal' | 'third_party';
    recipient_name: string | null;
    recipient_address: string | null;
    recipient_representative: string | null;
    rows_total: number;
    rows_done: Generated<number>;
    suppressed: Generated<number>;
    master_key_id: string | null;
    wrapped_key: Buffer | null;
    file_name: string | null;
    file_bytes: ColumnType<string | null, number | null, number | null>;
    sha256: Buffer | null;
    created_at: Timestamp;
    started_at: Timestamp | null;
    completed_at: Timestamp | null;
    download_until: Timestamp | null;
    downloaded_at: Timestamp | null;
    error: string | null;
    heartbeat_at: Timestamp | null;
    attempt: Generated<number>;
  };
  extraction_canaries: { extraction_id: string; position: number; mark: Buffer };
  suppression_entries: {
    id: string;
    dataset_id: string;
    kind: 'email' | 'phone' | 'name';
    hint: string;
    note: string;
    added_by: string;
    added_at: Timestamp;
    removed_by: string | null;
    removed_at: Timestamp | null;
    removed_reason: string | null;
  };
  suppression_terms: { entry_id: string; dataset_id: string; field: string; term: Buffer };
  provision_records: {
    id: string;
    extraction_id: string | null;
    transmission_id: ColumnType<string | null, string | null | undefined, string | null>;
    dataset_id: string | null;
    provided_at: Timestamp;
    recipient_name: string;
    recipient_address: string;
    recipient_representative: string;
    data_items: string[];
    record_count: number;
    retain_until: Timestamp;
  };
  provision_subjects: { provision_id: string; record_id: string };
  transmission_settings: { id: number; rules: ColumnType<unknown, string, string>; version: number; updated_at: Timestamp; updated_by: string | null };
  transmissions: {
    id: string;
    sender_id: string;
    sender_address: string;
    channel: 'smtp' | 'console';
    state: 'unconfirmed' | 'pending_approval' | 'queued' | 'delivered' | 'blocked' | 'rejected' | 'cancelled' | 'failed';
    route: 'approve' | 'block' | 'direct';
    reasons: string[];
    recipients: string[];
    external_recipients: string[];
    subject: string;
    attachments: ColumnType<unknown, string, string>;
    bytes: number;
    findings: ColumnType<unknown, string, string>;
    summary: ColumnType<unknown, string, string>;
    scan_errors: ColumnType<unknown, string, string>;
    content: Buffer | null;
    master_key_id: string;
    wrapped_key: Buffer;
    approval_request_id: string | null;
    approved_by: ColumnType<string[], string[] | undefined, string[]>;
    bcc_user_id: string | null;
    attempts: Generated<number>;
    next_attempt_at: Timestamp | null;
    claimed_until: Timestamp | null;
    delivery_error: string | null;
    created_at: Timestamp;
    decided_at: Timestamp | null;
    delivered_at: Timestamp | null;
  };
  transmission_reviews: {
    id: string;
    period_start: Timestamp;
    period_end: Timestamp;
    due_at: Timestamp;
    sample_percent: number;
    state: 'open' | 'closed';
    created_at: Timestamp;
    closed_at: Timestamp | null;
    overdue_alerted_at: Timestamp | null;
  };
  transmission_review_items: {
    review_id: string;
    transmission_id: string;
    verdict: 'appropriate' | 'inappropriate' | null;
    note: Generated<string>;
    marked_by: string | null;
    marked_at: Timestamp | null;
  };
}
