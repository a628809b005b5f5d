// Diesel table definitions, kept by hand in step with migrations/{sqlite,postgres}
// (a test migrates both backends and compares their tables and columns with these).

diesel::table! {
    vendors (id) {
        id -> Text,
        name -> Text,
        origins -> Text,
        auto_publish_min_level -> Nullable<Integer>,
        widget_served_at -> Nullable<BigInt>,
        audit_seq -> BigInt,
        audit_head -> Text,
        created_at -> BigInt,
        feed_token_hash -> Nullable<Text>,
        kyc_providers -> Nullable<Text>,
        phone_countries -> Nullable<Text>,
    }
}

diesel::table! {
    staff (id) {
        id -> Text,
        vendor_id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        staff_id -> Text,
        token_hash -> Text,
        family_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        vendor_id -> Text,
        kind -> Text,
        prefix -> Text,
        key_hash -> Text,
        label -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    products (vendor_id, sku) {
        vendor_id -> Text,
        sku -> Text,
        name -> Text,
        url -> Nullable<Text>,
        gtin -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        image_url -> Nullable<Text>,
        brand -> Nullable<Text>,
        mpn -> Nullable<Text>,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        vendor_id -> Text,
        order_ref -> Text,
        email_hmac -> Nullable<Text>,
        phone_hmac -> Nullable<Text>,
        customer_name -> Nullable<Text>,
        total_minor -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        purchased_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
        locale -> Nullable<Text>,
        created_at -> BigInt,
        status -> Text,
        updated_at -> Nullable<BigInt>,
        email_sealed -> Nullable<Text>,
        phone_sealed -> Nullable<Text>,
        contacts_expire_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    order_items (id) {
        id -> Text,
        order_id -> Text,
        sku -> Text,
        name -> Nullable<Text>,
        price_minor -> Nullable<BigInt>,
    }
}

diesel::table! {
    flows (id) {
        id -> Text,
        vendor_id -> Text,
        token_hash -> Text,
        sku -> Nullable<Text>,
        order_id -> Nullable<Text>,
        evidence -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        completed_at -> Nullable<BigInt>,
        locale -> Nullable<Text>,
        nps_score -> Nullable<Integer>,
        nps_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    reviews (id) {
        id -> Text,
        vendor_id -> Text,
        flow_id -> Nullable<Text>,
        order_id -> Nullable<Text>,
        sku -> Text,
        rating -> Integer,
        title -> Text,
        body -> Text,
        pros -> Nullable<Text>,
        cons -> Nullable<Text>,
        locale -> Text,
        display_name -> Text,
        author_email_hmac -> Nullable<Text>,
        author_phone_hmac -> Nullable<Text>,
        evidence -> Text,
        maturity_level -> Integer,
        checks -> Text,
        insider -> Bool,
        incentivised -> Bool,
        status -> Text,
        reject_reason -> Nullable<Text>,
        helpful_count -> BigInt,
        erased -> Bool,
        created_at -> BigInt,
        published_at -> Nullable<BigInt>,
        decided_at -> Nullable<BigInt>,
        changed_at -> BigInt,
        identity_key -> Nullable<Text>,
    }
}

diesel::table! {
    replies (review_id) {
        review_id -> Text,
        vendor_id -> Text,
        staff_id -> Text,
        body -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    helpful_votes (review_id, voter_key) {
        review_id -> Text,
        voter_key -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    quick_ratings (id) {
        id -> Text,
        vendor_id -> Text,
        sku -> Text,
        rating -> Integer,
        voter_key -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    review_aggregates (vendor_id, scope, kind, bucket) {
        vendor_id -> Text,
        scope -> Text,
        kind -> Text,
        bucket -> Integer,
        count -> BigInt,
    }
}

diesel::table! {
    public_write_caps (cap_key) {
        cap_key -> Text,
        count -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (vendor_id, key) {
        vendor_id -> Text,
        key -> Text,
        request_sha256 -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_log (vendor_id, seq) {
        vendor_id -> Text,
        seq -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        target -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        vendor_id -> Nullable<Text>,
        name -> Text,
        payload -> Text,
        idempotency_key -> Nullable<Text>,
        priority -> Integer,
        run_at -> BigInt,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    kyp_rules (vendor_id) {
        vendor_id -> Text,
        min_total_minor -> Nullable<BigInt>,
        min_total_currency -> Nullable<Text>,
        delivered_only -> Bool,
        window_days -> Nullable<Integer>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    integrations (vendor_id, platform) {
        vendor_id -> Text,
        platform -> Text,
        secret_sealed -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        last_delivery_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_orders (vendor_id, platform, platform_order_id) {
        vendor_id -> Text,
        platform -> Text,
        platform_order_id -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    order_mappings (vendor_id, name) {
        vendor_id -> Text,
        name -> Text,
        column_map -> Text,
        date_format -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    receipts (id) {
        id -> Text,
        vendor_id -> Text,
        flow_id -> Text,
        content_type -> Text,
        size -> BigInt,
        file -> Nullable<Binary>,
        state -> Text,
        reason -> Nullable<Text>,
        created_at -> BigInt,
        decided_at -> Nullable<BigInt>,
        decided_by -> Nullable<Text>,
        file_deleted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    demo_site (vendor_id) {
        vendor_id -> Text,
        publishable_key -> Text,
        sku -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    funnel_settings (vendor_id) {
        vendor_id -> Text,
        settings -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        vendor_id -> Text,
        order_id -> Text,
        contact_hmac -> Text,
        channel -> Text,
        state -> Text,
        sent_at -> BigInt,
        expires_at -> BigInt,
        opened_at -> Nullable<BigInt>,
        reminders_sent -> Integer,
        stopped -> Nullable<Text>,
        prompt -> Nullable<Text>,
        nps_score -> Nullable<Integer>,
        nps_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    opt_outs (vendor_id, contact_hmac) {
        vendor_id -> Text,
        contact_hmac -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    funnel_daily (vendor_id, day) {
        vendor_id -> Text,
        day -> Text,
        sent -> Integer,
    }
}

diesel::table! {
    coupons (vendor_id, code) {
        vendor_id -> Text,
        code -> Text,
        review_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    incentive_grants (review_id) {
        review_id -> Text,
        vendor_id -> Text,
        invitation_id -> Nullable<Text>,
        order_id -> Nullable<Text>,
        kind -> Text,
        description -> Text,
        coupon -> Nullable<Text>,
        state -> Text,
        created_at -> BigInt,
        decided_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    funnel_events (id) {
        id -> Text,
        vendor_id -> Text,
        invitation_id -> Text,
        kind -> Text,
        channel -> Text,
        at -> BigInt,
        prompt -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_states (state_hash) {
        state_hash -> Text,
        flow_id -> Text,
        vendor_id -> Text,
        provider -> Text,
        browser_hash -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        redirect_uri -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    one_time_codes (flow_id, channel) {
        flow_id -> Text,
        channel -> Text,
        vendor_id -> Text,
        contact_hmac -> Text,
        code_hmac -> Text,
        issued_at -> BigInt,
        wrong_tries -> Integer,
        used -> Bool,
        claim -> Nullable<Text>,
    }
}

diesel::table! {
    message_sends (id) {
        id -> Text,
        vendor_id -> Text,
        contact_hmac -> Text,
        sent_at -> BigInt,
        state -> Text,
        error -> Nullable<Text>,
        outbox_to -> Nullable<Text>,
        outbox_body -> Nullable<Text>,
        channel -> Text,
    }
}

diesel::table! {
    funnel_templates (vendor_id, locale) {
        vendor_id -> Text,
        locale -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        vendor_id -> Text,
        kind -> Text,
        review_id -> Nullable<Text>,
        invitation_id -> Nullable<Text>,
        score -> Nullable<Integer>,
        state -> Text,
        opened_at -> BigInt,
        resolved_at -> Nullable<BigInt>,
        resolved_by -> Nullable<Text>,
        update_invited_at -> Nullable<BigInt>,
        author_updated_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    review_revisions (review_id, version) {
        review_id -> Text,
        version -> Integer,
        vendor_id -> Text,
        rating -> Integer,
        title -> Text,
        body -> Text,
        pros -> Nullable<Text>,
        cons -> Nullable<Text>,
        written_at -> BigInt,
        replaced_at -> BigInt,
    }
}
diesel::table! {
    widget_versions (vendor_id) {
        vendor_id -> Text,
        version -> BigInt,
    }
}

diesel::joinable!(staff -> vendors (vendor_id));
diesel::joinable!(api_keys -> vendors (vendor_id));
diesel::joinable!(refresh_tokens -> staff (staff_id));
diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(replies -> reviews (review_id));

diesel::allow_tables_to_appear_in_same_query!(
    vendors,
    jobs,
    kyp_rules,
    integrations,
    webhook_orders,
    order_mappings,
    receipts,
    demo_site,
    one_time_codes,
    oauth_states,
    funnel_settings,
    invitations,
    opt_outs,
    funnel_daily,
    funnel_events,
    coupons,
    incentive_grants,
    message_sends,
    cases,
    review_revisions,
    funnel_templates,
    staff,
    refresh_tokens,
    api_keys,
    products,
    orders,
    order_items,
    flows,
    reviews,
    replies,
    helpful_votes,
    quick_ratings,
    review_aggregates,
    public_write_caps,
    idempotency_keys,
    audit_log,
    widget_versions,
);

/// Every table name, for the migration-parity test.
pub const TABLES: &[&str] = &[
    "vendors",
    "staff",
    "refresh_tokens",
    "api_keys",
    "products",
    "orders",
    "order_items",
    "flows",
    "reviews",
    "replies",
    "helpful_votes",
    "quick_ratings",
    "review_aggregates",
    "public_write_caps",
    "idempotency_keys",
    "audit_log",
    "jobs",
    "kyp_rules",
    "integrations",
    "webhook_orders",
    "order_mappings",
    "receipts",
    "demo_site",
    "one_time_codes",
    "oauth_states",
    "funnel_settings",
    "invitations",
    "opt_outs",
    "funnel_daily",
    "funnel_events",
    "coupons",
    "incentive_grants",
    "message_sends",
    "cases",
    "review_revisions",
    "funnel_templates",
    "widget_versions",
];
