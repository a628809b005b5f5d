//! Reviews, replies, helpful votes, quick ratings and the per-product aggregates that the
//! widget reads. Aggregates change only in the transaction that publishes or unpublishes.

use diesel::prelude::*;

use crate::db::schema::{helpful_votes, public_write_caps, quick_ratings, replies, review_aggregates, reviews};
use crate::db::DbConn;
use crate::domain::moderation::Status;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reviews)]
pub struct Review {
    pub id: String,
    pub vendor_id: String,
    pub flow_id: Option<String>,
    pub order_id: Option<String>,
    /// Product SKU, or empty for a whole-shop review.
    pub sku: String,
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub pros: Option<String>,
    pub cons: Option<String>,
    pub locale: String,
    pub display_name: String,
    pub author_email_hmac: Option<String>,
    pub author_phone_hmac: Option<String>,
    /// JSON of `domain::maturity::Evidence`.
    pub evidence: String,
    pub maturity_level: i32,
    /// JSON array of `domain::maturity::Check`.
    pub checks: String,
    pub insider: bool,
    pub incentivised: bool,
    pub status: String,
    pub reject_reason: Option<String>,
    pub helpful_count: i64,
    pub erased: bool,
    pub created_at: i64,
    pub published_at: Option<i64>,
    pub decided_at: Option<i64>,
    /// HMAC-derived key of the verified identity (one review per identity per product).
    pub identity_key: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = replies)]
pub struct Reply {
    pub review_id: String,
    pub vendor_id: String,
    pub staff_id: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Scope of the vendor-wide aggregate.
pub const ALL: &str = "*";

pub fn insert(conn: &mut DbConn, review: &Review) -> Result<()> {
    diesel::insert_into(reviews::table).values(review).execute(conn).map_err(|e| match Error::from(e) {
        Error::Conflict(_) => Error::Conflict("a review for this order and product already exists".into()),
        other => other,
    })?;
    if review.status == Status::Published.as_str() {
        apply_aggregates(conn, review, 1)?;
    }
    Ok(())
}

/// Whether this identity already reviewed this product (or the shop, `sku` empty) here.
pub fn identity_has_review(conn: &mut DbConn, vendor_id: &str, sku: &str, identity_key: &str) -> Result<bool> {
    let found: Option<String> = reviews::table
        .filter(reviews::vendor_id.eq(vendor_id).and(reviews::sku.eq(sku)))
        .filter(reviews::identity_key.eq(identity_key))
        .select(reviews::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

pub fn get(conn: &mut DbConn, vendor_id: &str, review_id: &str) -> Result<Review> {
    reviews::table
        .filter(reviews::vendor_id.eq(vendor_id).and(reviews::id.eq(review_id)))
        .select(Review::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("review"))
}

/// A published review of this vendor (public endpoints scope by the key's vendor).
pub fn get_published(conn: &mut DbConn, vendor_id: &str, review_id: &str) -> Result<Review> {
    reviews::table
        .filter(reviews::vendor_id.eq(vendor_id))
        .filter(reviews::id.eq(review_id).and(reviews::status.eq(Status::Published.as_str())))
        .select(Review::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("review"))
}

/// Staff listing, newest first, keyset on (created_at, id).
pub fn staff_page(
    conn: &mut DbConn,
    vendor_id: &str,
    status: Option<Status>,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Review>> {
    let mut q = reviews::table.filter(reviews::vendor_id.eq(vendor_id)).into_boxed();
    if let Some(status) = status {
        q = q.filter(reviews::status.eq(status.as_str()));
    }
    if let Some((created, id)) = after {
        q = q.filter(reviews::created_at.lt(created).or(reviews::created_at.eq(created).and(reviews::id.lt(id))));
    }
    Ok(q.order((reviews::created_at.desc(), reviews::id.desc())).limit(limit).select(Review::as_select()).load(conn)?)
}

/// Orders of the public list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Recent,
    Helpful,
    Rating,
}

/// Where the previous page ended: (sort key, published_at, id).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicCursor(pub i64, pub i64, pub String);

#[derive(Debug, Clone)]
pub struct PublicQuery {
    pub sku: Option<String>,
    pub min_level: i32,
    pub sort: Sort,
    pub after: Option<PublicCursor>,
    pub limit: i64,
}

/// Published reviews for the widget with their replies, keyset-paginated.
pub fn public_page(conn: &mut DbConn, vendor_id: &str, q: &PublicQuery) -> Result<Vec<(Review, Option<Reply>)>> {
    let mut query = reviews::table
        .left_join(replies::table)
        .filter(reviews::vendor_id.eq(vendor_id).and(reviews::status.eq(Status::Published.as_str())))
        .into_boxed();
    if let Some(sku) = &q.sku {
        query = query.filter(reviews::sku.eq(sku.clone()));
    }
    if q.min_level > 0 {
        query = query.filter(reviews::maturity_level.ge(q.min_level));
    }
    if let Some(PublicCursor(key, published, id)) = q.after.clone() {
        let tail = reviews::published_at.lt(published).or(reviews::published_at.eq(published).and(reviews::id.lt(id)));
        query = match q.sort {
            Sort::Recent => query.filter(tail),
            Sort::Helpful => query.filter(reviews::helpful_count.lt(key).or(reviews::helpful_count.eq(key).and(tail))),
            Sort::Rating => {
                let key = i32::try_from(key).unwrap_or(0);
                query.filter(reviews::rating.lt(key).or(reviews::rating.eq(key).and(tail)))
            }
        };
    }
    query = match q.sort {
        Sort::Recent => query.order((reviews::published_at.desc(), reviews::id.desc())),
        Sort::Helpful => query.order((reviews::helpful_count.desc(), reviews::published_at.desc(), reviews::id.desc())),
        Sort::Rating => query.order((reviews::rating.desc(), reviews::published_at.desc(), reviews::id.desc())),
    };
    Ok(query.limit(q.limit).select((Review::as_select(), Option::<Reply>::as_select())).load(conn)?)
}

pub fn replies_for(conn: &mut DbConn, review_ids: &[String]) -> Result<Vec<Reply>> {
    if review_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(replies::table.filter(replies::review_id.eq_any(review_ids)).select(Reply::as_select()).load(conn)?)
}

/// Pairs each review with its public reply, if any (one query for the page).
pub fn with_replies(conn: &mut DbConn, rows: Vec<Review>) -> Result<Vec<(Review, Option<Reply>)>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut replies: std::collections::HashMap<String, Reply> =
        replies_for(conn, &ids)?.into_iter().map(|r| (r.review_id.clone(), r)).collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let reply = replies.remove(&r.id);
            (r, reply)
        })
        .collect())
}

/// What another moderator (or an erasure) did first.
fn changed_first() -> Error {
    Error::Conflict("another moderator changed this review first; reload it and decide again".into())
}

/// Moves a review from the state it was read in (`review`) to `next`, keeping the
/// aggregates in step. The UPDATE is conditional on that state (status, level, erased):
/// under PostgreSQL's READ COMMITTED a concurrent decision or erasure makes it match no
/// row, and the caller gets 409 instead of counting the review twice (M9).
pub fn set_status(conn: &mut DbConn, review: &Review, next: Status, reason: Option<&str>, now: i64) -> Result<Review> {
    let was_published = review.status == Status::Published.as_str();
    let published_at = if next == Status::Published { Some(now) } else { review.published_at };
    let n = diesel::update(
        reviews::table
            .filter(reviews::vendor_id.eq(&review.vendor_id).and(reviews::id.eq(&review.id)))
            .filter(reviews::status.eq(&review.status))
            .filter(reviews::maturity_level.eq(review.maturity_level))
            .filter(reviews::erased.eq(review.erased)),
    )
    .set((
        reviews::status.eq(next.as_str()),
        reviews::reject_reason.eq(reason),
        reviews::decided_at.eq(now),
        reviews::published_at.eq(published_at),
        reviews::changed_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(changed_first());
    }
    match (was_published, next == Status::Published) {
        (true, false) => apply_aggregates(conn, review, -1)?,
        (false, true) => apply_aggregates(conn, review, 1)?,
        _ => {}
    }
    get(conn, &review.vendor_id, &review.id)
}

/// Creates or replaces the vendor's public reply.
pub fn upsert_reply(conn: &mut DbConn, reply: &Reply) -> Result<Reply> {
    let existing = replies::table.find(&reply.review_id).select(Reply::as_select()).first(conn).optional()?;
    match existing {
        Some(old) => {
            diesel::update(replies::table.find(&reply.review_id))
                .set((
                    replies::body.eq(&reply.body),
                    replies::staff_id.eq(&reply.staff_id),
                    replies::updated_at.eq(reply.updated_at),
                ))
                .execute(conn)?;
            touch(conn, &reply.review_id, reply.updated_at)?;
            Ok(Reply { created_at: old.created_at, ..reply.clone() })
        }
        None => {
            diesel::insert_into(replies::table).values(reply).execute(conn)?;
            touch(conn, &reply.review_id, reply.updated_at)?;
            Ok(reply.clone())
        }
    }
}

/// Marks a review changed (syndication's `since` picks it up again).
fn touch(conn: &mut DbConn, review_id: &str, now: i64) -> Result<()> {
    diesel::update(reviews::table.find(review_id)).set(reviews::changed_at.eq(now)).execute(conn)?;
    Ok(())
}

/// Takes one unit of a daily cap: true if `cap_key` had fewer than `limit` uses (and now
/// has one more), false if the cap is reached. Exact under concurrency: the row is
/// created once (a savepoint absorbs a concurrent creator) and the increment is a
/// conditional UPDATE, which PostgreSQL re-checks after waiting for the row lock.
pub fn take_cap(conn: &mut DbConn, cap_key: &str, limit: i64, expires_at: i64) -> Result<bool> {
    let created = conn.transaction(|c| {
        diesel::insert_into(public_write_caps::table)
            .values((
                public_write_caps::cap_key.eq(cap_key),
                public_write_caps::count.eq(0i64),
                public_write_caps::expires_at.eq(expires_at),
            ))
            .execute(c)
    });
    match created {
        Ok(_) | Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {}
        Err(e) => return Err(e.into()),
    }
    let n = diesel::update(
        public_write_caps::table.filter(public_write_caps::cap_key.eq(cap_key).and(public_write_caps::count.lt(limit))),
    )
    .set(public_write_caps::count.eq(public_write_caps::count + 1))
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes caps of past days.
pub fn purge_caps(conn: &mut DbConn, now: i64) -> Result<usize> {
    Ok(diesel::delete(public_write_caps::table.filter(public_write_caps::expires_at.le(now))).execute(conn)?)
}

/// One "helpful" vote per voter per review; returns the new count.
pub fn add_vote(conn: &mut DbConn, review_id: &str, voter_key: &str, now: i64) -> Result<i64> {
    diesel::insert_into(helpful_votes::table)
        .values((
            helpful_votes::review_id.eq(review_id),
            helpful_votes::voter_key.eq(voter_key),
            helpful_votes::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => Error::Conflict("this browser or identity has already voted for this review".into()),
            other => other,
        })?;
    diesel::update(reviews::table.find(review_id))
        .set(reviews::helpful_count.eq(reviews::helpful_count + 1))
        .execute(conn)?;
    Ok(reviews::table.find(review_id).select(reviews::helpful_count).first(conn)?)
}

pub fn add_quick_rating(
    conn: &mut DbConn,
    id: &str,
    vendor_id: &str,
    sku: &str,
    rating: i32,
    voter_key: &str,
    now: i64,
) -> Result<()> {
    diesel::insert_into(quick_ratings::table)
        .values((
            quick_ratings::id.eq(id),
            quick_ratings::vendor_id.eq(vendor_id),
            quick_ratings::sku.eq(sku),
            quick_ratings::rating.eq(rating),
            quick_ratings::voter_key.eq(voter_key),
            quick_ratings::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => Error::Conflict("this browser has already rated this product".into()),
            other => other,
        })?;
    Ok(())
}

/// (count, sum of ratings) of quick ratings for a SKU, or for the whole vendor.
pub fn quick_totals(conn: &mut DbConn, vendor_id: &str, sku: Option<&str>) -> Result<(i64, i64)> {
    let mut q = quick_ratings::table.filter(quick_ratings::vendor_id.eq(vendor_id)).into_boxed();
    if let Some(sku) = sku {
        q = q.filter(quick_ratings::sku.eq(sku.to_owned()));
    }
    let (count, sum): (i64, Option<i64>) =
        q.select((diesel::dsl::count_star(), diesel::dsl::sum(quick_ratings::rating))).first(conn)?;
    Ok((count, sum.unwrap_or(0)))
}

fn ensure_aggregate_rows(conn: &mut DbConn, vendor_id: &str, scope: &str) -> Result<()> {
    let existing: i64 = review_aggregates::table
        .filter(review_aggregates::vendor_id.eq(vendor_id).and(review_aggregates::scope.eq(scope)))
        .count()
        .get_result(conn)?;
    if existing > 0 {
        return Ok(());
    }
    let rows: Vec<_> = (1..=5)
        .map(|b| ("rating", b))
        .chain((0..=5).map(|b| ("level", b)))
        .map(|(kind, bucket)| {
            (
                review_aggregates::vendor_id.eq(vendor_id),
                review_aggregates::scope.eq(scope),
                review_aggregates::kind.eq(kind),
                review_aggregates::bucket.eq(bucket),
                review_aggregates::count.eq(0i64),
            )
        })
        .collect();
    // A savepoint: on PostgreSQL a concurrent creator makes this insert fail without
    // aborting the surrounding transaction.
    let created = conn.transaction(|c| crate::insert_many!(c, review_aggregates::table, &rows));
    match created {
        Ok(_) | Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn bump(conn: &mut DbConn, vendor_id: &str, scope: &str, kind: &str, bucket: i32, delta: i64) -> Result<()> {
    diesel::update(review_aggregates::table.find((vendor_id, scope, kind, bucket)))
        .set(review_aggregates::count.eq(review_aggregates::count + delta))
        .execute(conn)?;
    Ok(())
}

/// Adds (`delta` = 1) or removes (−1) a published review from its aggregates.
pub fn apply_aggregates(conn: &mut DbConn, review: &Review, delta: i64) -> Result<()> {
    let mut scopes = vec![ALL];
    if !review.sku.is_empty() {
        scopes.push(review.sku.as_str());
    }
    for scope in scopes {
        ensure_aggregate_rows(conn, &review.vendor_id, scope)?;
        bump(conn, &review.vendor_id, scope, "rating", review.rating, delta)?;
        bump(conn, &review.vendor_id, scope, "level", review.maturity_level, delta)?;
    }
    Ok(())
}

/// Histogram of ratings (index 0 = 1★) and count per level (index = level).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregate {
    pub ratings: [i64; 5],
    pub levels: [i64; 6],
}

pub fn aggregate(conn: &mut DbConn, vendor_id: &str, scope: &str) -> Result<Aggregate> {
    let rows: Vec<(String, i32, i64)> = review_aggregates::table
        .filter(review_aggregates::vendor_id.eq(vendor_id).and(review_aggregates::scope.eq(scope)))
        .select((review_aggregates::kind, review_aggregates::bucket, review_aggregates::count))
        .load(conn)?;
    let mut agg = Aggregate::default();
    for (kind, bucket, count) in rows {
        let Ok(i) = usize::try_from(bucket) else { continue };
        match kind.as_str() {
            "rating" if (1..=5).contains(&i) => agg.ratings[i - 1] = count,
            "level" if i <= 5 => agg.levels[i] = count,
            _ => {}
        }
    }
    Ok(agg)
}

/// Reviews whose author or order matches this contact HMAC.
pub fn by_contact(conn: &mut DbConn, vendor_id: &str, contact_hmac: &str, order_ids: &[String]) -> Result<Vec<Review>> {
    Ok(reviews::table
        .filter(reviews::vendor_id.eq(vendor_id))
        .filter(
            reviews::author_email_hmac
                .eq(contact_hmac)
                .or(reviews::author_phone_hmac.eq(contact_hmac))
                .or(reviews::order_id.eq_any(order_ids.to_vec()))
                .or(reviews::evidence.like(format!("%{contact_hmac}%"))),
        )
        .order(reviews::created_at.asc())
        .select(Review::as_select())
        .load(conn)?)
}

/// Removes the author's identity from a review: name and contact HMACs deleted, evidence
/// replaced by "erased", level recomputed (0), aggregates moved accordingly.
pub fn deidentify(
    conn: &mut DbConn,
    review: &Review,
    evidence_json: &str,
    checks_json: &str,
    level: i32,
    now: i64,
) -> Result<()> {
    // Conditional on the state read by the caller, like `set_status`: a decision made
    // meanwhile would otherwise leave the aggregates counting the old state (M9).
    let n = diesel::update(
        reviews::table
            .filter(reviews::vendor_id.eq(&review.vendor_id).and(reviews::id.eq(&review.id)))
            .filter(reviews::status.eq(&review.status))
            .filter(reviews::maturity_level.eq(review.maturity_level))
            .filter(reviews::erased.eq(review.erased)),
    )
    .set((
        reviews::display_name.eq(""),
        reviews::author_email_hmac.eq(None::<String>),
        reviews::author_phone_hmac.eq(None::<String>),
        reviews::identity_key.eq(None::<String>),
        reviews::evidence.eq(evidence_json),
        reviews::checks.eq(checks_json),
        reviews::maturity_level.eq(level),
        reviews::erased.eq(true),
        reviews::changed_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(Error::Conflict("a review of this buyer changed during the erasure; retry".into()));
    }
    if review.status == Status::Published.as_str() {
        apply_aggregates(conn, review, -1)?;
        let updated = Review { maturity_level: level, ..review.clone() };
        apply_aggregates(conn, &updated, 1)?;
    }
    Ok(())
}

/// Export pages, oldest first, keyset on (created_at, id).
pub fn export_page(
    conn: &mut DbConn,
    vendor_id: &str,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Review>> {
    let mut q = reviews::table.filter(reviews::vendor_id.eq(vendor_id)).into_boxed();
    if let Some((created, id)) = after {
        q = q.filter(reviews::created_at.gt(created).or(reviews::created_at.eq(created).and(reviews::id.gt(id))));
    }
    Ok(q.order((reviews::created_at.asc(), reviews::id.asc())).limit(limit).select(Review::as_select()).load(conn)?)
}

/// Facts about published reviews since `since` for the vendor maturity report:
/// (published, count at level ≥ n for n = 0..=5, negative published, negative answered).
pub fn window_facts(conn: &mut DbConn, vendor_id: &str, since: i64) -> Result<(i64, [i64; 6], i64, i64)> {
    let published = || {
        reviews::table
            .filter(reviews::vendor_id.eq(vendor_id))
            .filter(reviews::status.eq(Status::Published.as_str()))
            .filter(reviews::published_at.ge(since))
    };
    let by_level: Vec<(i32, i64)> = published()
        .group_by(reviews::maturity_level)
        .select((reviews::maturity_level, diesel::dsl::count_star()))
        .load(conn)?;
    let mut at_least = [0i64; 6];
    for (level, count) in by_level {
        for (n, slot) in at_least.iter_mut().enumerate() {
            if usize::try_from(level).unwrap_or(0) >= n {
                *slot += count;
            }
        }
    }
    let negative: i64 = published().filter(reviews::rating.le(2)).count().get_result(conn)?;
    let answered: i64 = published()
        .filter(reviews::rating.le(2))
        .filter(diesel::dsl::exists(replies::table.filter(replies::review_id.eq(reviews::id))))
        .count()
        .get_result(conn)?;
    Ok((at_least[0], at_least, negative, answered))
}

/// Inserts many reviews in one statement per backend (seeding, imports). Aggregates are
/// not touched: call [`rebuild_aggregates`] afterwards.
pub fn insert_batch(conn: &mut DbConn, rows: &[Review]) -> Result<usize> {
    Ok(crate::insert_many!(conn, reviews::table, rows)?)
}

/// Recomputes a vendor's aggregates from its published reviews (repair, bulk loads).
pub fn rebuild_aggregates(conn: &mut DbConn, vendor_id: &str) -> Result<()> {
    diesel::delete(review_aggregates::table.filter(review_aggregates::vendor_id.eq(vendor_id))).execute(conn)?;
    let published =
        || reviews::table.filter(reviews::vendor_id.eq(vendor_id).and(reviews::status.eq(Status::Published.as_str())));
    let by_sku_rating: Vec<(String, i32, i64)> = published()
        .group_by((reviews::sku, reviews::rating))
        .select((reviews::sku, reviews::rating, diesel::dsl::count_star()))
        .load(conn)?;
    let by_sku_level: Vec<(String, i32, i64)> = published()
        .group_by((reviews::sku, reviews::maturity_level))
        .select((reviews::sku, reviews::maturity_level, diesel::dsl::count_star()))
        .load(conn)?;
    let mut totals: std::collections::BTreeMap<(String, &str, i32), i64> = Default::default();
    for (rows, kind) in [(by_sku_rating, "rating"), (by_sku_level, "level")] {
        for (sku, bucket, count) in rows {
            *totals.entry((ALL.to_owned(), kind, bucket)).or_default() += count;
            if !sku.is_empty() {
                *totals.entry((sku, kind, bucket)).or_default() += count;
            }
        }
    }
    let scopes: std::collections::BTreeSet<String> = totals.keys().map(|(s, _, _)| s.clone()).collect();
    for scope in scopes {
        ensure_aggregate_rows(conn, vendor_id, &scope)?;
    }
    for ((scope, kind, bucket), count) in totals {
        bump(conn, vendor_id, &scope, kind, bucket, count)?;
    }
    Ok(())
}

/// Inserts many replies in one statement per backend (seeding, imports).
pub fn insert_replies_batch(conn: &mut DbConn, rows: &[Reply]) -> Result<usize> {
    Ok(crate::insert_many!(conn, replies::table, rows)?)
}

/// What syndication reads: published reviews of one vendor in id order (ids are UUIDv7, so
/// creation order), each with its product row and public reply.
pub struct SyndicationQuery {
    /// Only reviews published or changed at or after this instant (Unix ms).
    pub since: Option<i64>,
    /// Keyset: ids after this one.
    pub after: Option<String>,
    pub limit: i64,
    /// Google's feed: product reviews only, insider reviews left out (SPEC §11).
    pub google: bool,
}

pub type Syndicated = (Review, Option<crate::store::products::Product>, Option<Reply>);

pub fn syndicated_page(conn: &mut DbConn, vendor_id: &str, q: &SyndicationQuery) -> Result<Vec<Syndicated>> {
    use crate::db::schema::products;
    let mut query = reviews::table
        .left_join(products::table.on(products::vendor_id.eq(reviews::vendor_id).and(products::sku.eq(reviews::sku))))
        .left_join(replies::table)
        .filter(reviews::vendor_id.eq(vendor_id).and(reviews::status.eq(Status::Published.as_str())))
        .into_boxed();
    if q.google {
        query = query.filter(reviews::sku.ne("").and(reviews::insider.eq(false)));
    }
    if let Some(since) = q.since {
        query = query.filter(
            reviews::published_at.ge(since).or(reviews::changed_at.ge(since)).or(reviews::created_at.ge(since)),
        );
    }
    if let Some(after) = &q.after {
        query = query.filter(reviews::id.gt(after.clone()));
    }
    Ok(query
        .order(reviews::id.asc())
        .limit(q.limit)
        .select((
            Review::as_select(),
            Option::<crate::store::products::Product>::as_select(),
            Option::<Reply>::as_select(),
        ))
        .load(conn)?)
}

/// Reviews that were public once and are not now (rejected or flagged after publication),
/// changed at or after `since`: an incremental feed tells aggregators to drop them.
pub fn withdrawn_since(conn: &mut DbConn, vendor_id: &str, since: i64, google: bool) -> Result<Vec<String>> {
    let mut query = reviews::table
        .filter(reviews::vendor_id.eq(vendor_id))
        .filter(reviews::status.ne(Status::Published.as_str()))
        .filter(reviews::published_at.is_not_null())
        .filter(reviews::changed_at.ge(since))
        .into_boxed();
    if google {
        query = query.filter(reviews::sku.ne(""));
    }
    Ok(query.order(reviews::id.asc()).select(reviews::id).load(conn)?)
}

/// How many units of a cap were taken (0 if none or lapsed).
pub fn cap_used(conn: &mut DbConn, cap_key: &str, now: i64) -> Result<i64> {
    Ok(public_write_caps::table
        .filter(public_write_caps::cap_key.eq(cap_key).and(public_write_caps::expires_at.gt(now)))
        .select(public_write_caps::count)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// The review submitted through a flow, if any.
pub fn by_flow(conn: &mut DbConn, vendor_id: &str, flow_id: &str) -> Result<Option<Review>> {
    Ok(reviews::table
        .filter(reviews::vendor_id.eq(vendor_id).and(reviews::flow_id.eq(flow_id)))
        .select(Review::as_select())
        .first(conn)
        .optional()?)
}

/// New evidence for a review (e.g. a receipt accepted after submission): level and checks
/// recomputed by the caller, the aggregates moved if it is published. Conditional on the
/// state read, like [`set_status`].
pub fn set_evidence(
    conn: &mut DbConn,
    review: &Review,
    evidence_json: &str,
    checks_json: &str,
    level: i32,
    now: i64,
) -> Result<Review> {
    let n = diesel::update(
        reviews::table
            .filter(reviews::vendor_id.eq(&review.vendor_id).and(reviews::id.eq(&review.id)))
            .filter(reviews::status.eq(&review.status))
            .filter(reviews::maturity_level.eq(review.maturity_level))
            .filter(reviews::erased.eq(review.erased)),
    )
    .set((
        reviews::evidence.eq(evidence_json),
        reviews::checks.eq(checks_json),
        reviews::maturity_level.eq(level),
        reviews::changed_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(changed_first());
    }
    if review.status == Status::Published.as_str() {
        apply_aggregates(conn, review, -1)?;
        apply_aggregates(conn, &Review { maturity_level: level, ..review.clone() }, 1)?;
    }
    get(conn, &review.vendor_id, &review.id)
}

/// Whether any review is bound to this order (however it was written: link, match, reply).
pub fn exists_for_order(conn: &mut DbConn, vendor_id: &str, order_id: &str) -> Result<bool> {
    let found: Option<String> = reviews::table
        .filter(reviews::vendor_id.eq(vendor_id).and(reviews::order_id.eq(order_id)))
        .select(reviews::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Marks a review as incentivised (disclosed wherever it is shown).
pub fn set_incentivised(conn: &mut DbConn, vendor_id: &str, id: &str) -> Result<()> {
    diesel::update(reviews::table.filter(reviews::vendor_id.eq(vendor_id).and(reviews::id.eq(id))))
        .set(reviews::incentivised.eq(true))
        .execute(conn)?;
    Ok(())
}
