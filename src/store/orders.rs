//! Orders (KYP source): the native import (upsert on the vendor's order number, items
//! replaced, Idempotency-Key answers), the order read, and what the review core needs to
//! bind reviews to orders and to erase and export buyers' order data.

use diesel::prelude::*;

use crate::db::schema::{idempotency_keys, order_items, orders, reviews};
use crate::db::DbConn;
use crate::error::Result;

/// `None` is inserted as NULL (`treat_none_as_default_value = false`; every optional column
/// defaults to NULL anyway): every row has the same INSERT (one cached statement on
/// SQLite), and PostgreSQL can take them by binary `COPY`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders, treat_none_as_default_value = false)]
pub struct Order {
    pub id: String,
    pub vendor_id: String,
    /// The vendor's own order number.
    pub order_ref: String,
    pub email_hmac: Option<String>,
    pub phone_hmac: Option<String>,
    pub customer_name: Option<String>,
    pub total_minor: Option<i64>,
    pub currency: Option<String>,
    pub purchased_at: i64,
    pub delivered_at: Option<i64>,
    pub locale: Option<String>,
    pub created_at: i64,
    /// `paid`, `fulfilled`, `delivered`, `cancelled` or `refunded`.
    pub status: String,
    /// When a re-import last changed it; `None` if never.
    pub updated_at: Option<i64>,
    /// The raw contacts, sealed, kept until `contacts_expire_at` for invitations.
    pub email_sealed: Option<String>,
    pub phone_sealed: Option<String>,
    pub contacts_expire_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items, treat_none_as_default_value = false)]
pub struct OrderItem {
    pub id: String,
    pub order_id: String,
    pub sku: String,
    pub name: Option<String>,
    pub price_minor: Option<i64>,
}

pub fn insert(conn: &mut DbConn, order: &Order, items: &[OrderItem]) -> Result<()> {
    diesel::insert_into(orders::table).values(order).execute(conn)?;
    if !items.is_empty() {
        crate::insert_many!(conn, order_items::table, items)?;
    }
    Ok(())
}

pub fn get(conn: &mut DbConn, vendor_id: &str, order_id: &str) -> Result<Order> {
    orders::table
        .filter(orders::vendor_id.eq(vendor_id).and(orders::id.eq(order_id)))
        .select(Order::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| crate::Error::not_found("order"))
}

pub fn count(conn: &mut DbConn, vendor_id: &str) -> Result<i64> {
    Ok(orders::table.filter(orders::vendor_id.eq(vendor_id)).count().get_result(conn)?)
}

/// Orders whose e-mail or phone HMAC is `contact_hmac`.
pub fn by_contact(conn: &mut DbConn, vendor_id: &str, contact_hmac: &str) -> Result<Vec<(Order, Vec<OrderItem>)>> {
    let found: Vec<Order> = orders::table
        .filter(orders::vendor_id.eq(vendor_id))
        .filter(orders::email_hmac.eq(contact_hmac).or(orders::phone_hmac.eq(contact_hmac)))
        .order(orders::purchased_at.asc())
        .select(Order::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(found.len());
    for order in found {
        let items =
            order_items::table.filter(order_items::order_id.eq(&order.id)).select(OrderItem::as_select()).load(conn)?;
        out.push((order, items));
    }
    Ok(out)
}

/// Deletes the contacts of these orders (erasure); the orders stay for the vendor's books.
pub fn clear_contacts(conn: &mut DbConn, vendor_id: &str, order_ids: &[String]) -> Result<usize> {
    Ok(diesel::update(orders::table.filter(orders::vendor_id.eq(vendor_id).and(orders::id.eq_any(order_ids))))
        .set((
            orders::email_hmac.eq(None::<String>),
            orders::phone_hmac.eq(None::<String>),
            orders::customer_name.eq(None::<String>),
            orders::email_sealed.eq(None::<String>),
            orders::phone_sealed.eq(None::<String>),
            orders::contacts_expire_at.eq(None::<i64>),
        ))
        .execute(conn)?)
}

/// Clears raw contacts past their retention (worker maintenance); the HMACs stay.
pub fn purge_raw_contacts(conn: &mut DbConn, now: i64) -> Result<usize> {
    Ok(diesel::update(orders::table.filter(orders::contacts_expire_at.le(now)))
        .set((
            orders::email_sealed.eq(None::<String>),
            orders::phone_sealed.eq(None::<String>),
            orders::contacts_expire_at.eq(None::<i64>),
        ))
        .execute(conn)?)
}

/// Rows per multi-row INSERT / `IN (…)` list: far below SQLite's 32,766 and PostgreSQL's
/// 65,535 bind parameters (an order row has 14 columns).
const CHUNK: usize = 1_000;

/// `(order_ref, id)` of the vendor's orders among `refs`.
pub fn ids_by_ref(conn: &mut DbConn, vendor_id: &str, refs: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in refs.chunks(CHUNK) {
        let found: Vec<(String, String)> = orders::table
            .filter(orders::vendor_id.eq(vendor_id).and(orders::order_ref.eq_any(chunk)))
            .select((orders::order_ref, orders::id))
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}

/// PostgreSQL plans an import's lookups (orders by number, items by order) from the
/// tables' statistics, which autovacuum refreshes about a minute after a change at the
/// soonest. A table that has grown far past its statistics (a new shop's first imports
/// into empty tables) keeps being planned as if it were still small: a sequential scan
/// for each lookup, so each import is slower than the last. P3 measured it through HTTP:
/// 0.8, 8.6, 15.5, 22.5 and 30.2 s for the first five requests of 20,000 orders, then
/// 0.9 s each once autovacuum had come; the whole run took anything from 58 to 133 s
/// depending on when it came. So after an import, when either table has more than
/// doubled in pages since its statistics were taken, they are taken again at once
/// (`ANALYZE` samples at most 30,000 rows; it happens about a dozen times over a table's
/// first 1,000,000 orders). SQLite plans these lookups on the index without statistics.
pub fn refresh_statistics(conn: &mut DbConn) -> Result<()> {
    let DbConn::Pg(c) = conn else { return Ok(()) };
    #[derive(QueryableByName)]
    struct Stale {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        stale: bool,
    }
    let grown: Stale = diesel::sql_query(
        "SELECT coalesce(bool_or(pg_relation_size(oid) / current_setting('block_size')::bigint \
         > greatest(2 * relpages::bigint, 64)), false) AS stale FROM pg_class \
         WHERE oid IN ('orders'::regclass, 'order_items'::regclass)",
    )
    .get_result(c)?;
    if grown.stale {
        diesel::connection::SimpleConnection::batch_execute(c, "ANALYZE orders, order_items")?;
    }
    Ok(())
}

/// Inserts `rows` into `table`: PostgreSQL by binary `COPY`; SQLite row by row through one
/// cached prepared statement, in process and inside the caller's transaction. (A multi-row
/// INSERT is slower there: a statement that can fail halfway through many rows keeps a
/// statement journal of every page it changes, 14 % of a 1,000,000-order import, P3.)
/// Backend-specific (`COPY` is PostgreSQL's).
macro_rules! insert_bulk {
    ($conn:expr, $table:expr, $rows:expr) => {{
        match $conn {
            DbConn::Pg(c) if !$rows.is_empty() => {
                diesel::copy_from($table).from_insertable($rows).execute(c)?;
            }
            DbConn::Pg(_) => {}
            DbConn::Sqlite(c) => {
                for row in $rows {
                    diesel::insert_into($table).values(row).execute(c)?;
                }
            }
        }
        Ok(())
    }};
}

/// Inserts new orders (see `insert_bulk`).
pub fn insert_imported(conn: &mut DbConn, rows: &[Order]) -> Result<()> {
    insert_bulk!(conn, orders::table, rows)
}

/// A re-import: the fields that may change after the purchase (`id`, `vendor_id`,
/// `order_ref`, `purchased_at` and `created_at` of `row` are ignored).
pub fn update_imported(conn: &mut DbConn, id: &str, row: &Order) -> Result<()> {
    diesel::update(orders::table.find(id))
        .set((
            orders::email_hmac.eq(&row.email_hmac),
            orders::phone_hmac.eq(&row.phone_hmac),
            orders::customer_name.eq(&row.customer_name),
            orders::total_minor.eq(row.total_minor),
            orders::currency.eq(&row.currency),
            orders::delivered_at.eq(row.delivered_at),
            orders::locale.eq(&row.locale),
            orders::status.eq(&row.status),
            orders::updated_at.eq(row.updated_at),
            orders::email_sealed.eq(&row.email_sealed),
            orders::phone_sealed.eq(&row.phone_sealed),
            orders::contacts_expire_at.eq(row.contacts_expire_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes the items of these orders (before a re-import writes them again).
pub fn delete_items(conn: &mut DbConn, order_ids: &[String]) -> Result<()> {
    for chunk in order_ids.chunks(CHUNK) {
        diesel::delete(order_items::table.filter(order_items::order_id.eq_any(chunk))).execute(conn)?;
    }
    Ok(())
}

/// Inserts line items (see `insert_bulk`).
pub fn insert_items(conn: &mut DbConn, items: &[OrderItem]) -> Result<()> {
    insert_bulk!(conn, order_items::table, items)
}

/// An order, its items and the ids of the reviews bound to it.
pub type OrderRecord = (Order, Vec<OrderItem>, Vec<String>);

/// One of the vendor's orders by the vendor's order number, with its items (by SKU) and the ids
/// of the reviews bound to it.
pub fn by_ref(conn: &mut DbConn, vendor_id: &str, order_ref: &str) -> Result<Option<OrderRecord>> {
    let Some(order) = orders::table
        .filter(orders::vendor_id.eq(vendor_id).and(orders::order_ref.eq(order_ref)))
        .select(Order::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let items = order_items::table
        .filter(order_items::order_id.eq(&order.id))
        .order((order_items::sku.asc(), order_items::id.asc()))
        .select(OrderItem::as_select())
        .load(conn)?;
    let review_ids = reviews::table
        .filter(reviews::vendor_id.eq(vendor_id).and(reviews::order_id.eq(&order.id)))
        .order(reviews::id.asc())
        .select(reviews::id)
        .load(conn)?;
    Ok(Some((order, items, review_ids)))
}

/// The stored answer to an `Idempotency-Key` request.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotentAnswer {
    pub vendor_id: String,
    pub key: String,
    pub request_sha256: String,
    pub response_status: i32,
    pub response_body: String,
    pub created_at: i64,
}

pub fn idempotent_answer(conn: &mut DbConn, vendor_id: &str, key: &str) -> Result<Option<IdempotentAnswer>> {
    Ok(idempotency_keys::table.find((vendor_id, key)).select(IdempotentAnswer::as_select()).first(conn).optional()?)
}

pub fn store_answer(conn: &mut DbConn, answer: &IdempotentAnswer) -> Result<()> {
    diesel::insert_into(idempotency_keys::table).values(answer).execute(conn)?;
    Ok(())
}

/// Forgets idempotency answers stored before `before` (worker maintenance).
pub fn purge_idempotency(conn: &mut DbConn, before: i64) -> Result<usize> {
    use crate::db::schema::idempotency_keys;
    Ok(diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before))).execute(conn)?)
}
