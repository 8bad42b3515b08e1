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
  };
  user_roles: { user_id: string; role: string; granted_at: Timestamp };
  groups: { id: string; name: string; created_at: Timestamp };
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
  record_terms: { dataset_id: string; field: string; term: Buffer; record_id: string };
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
  };
  audit_events: {
    id: Generated<number>;
    payload: string;
    at: ColumnType<Date, never, never>;
    actor_user_id: ColumnType<string | null, never, never>;
    action: ColumnType<string, never, never>;
    dataset_id: ColumnType<string | null, never, never>;
    record_ids: ColumnType<string[], never, never>;
    decision: ColumnType<string, never, never>;
    log_index: number | null;
    leaf_hash: Buffer | null;
  };
  audit_tree_nodes: { level: number; idx: number; hash: Buffer };
  audit_checkpoints: { tree_size: number; root_hash: Buffer; note: string; created_at: Timestamp };
  audit_tree_state: { id: number; tree_size: number; compact: Buffer[]; root_hash: Buffer; updated_at: Timestamp };
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
}
