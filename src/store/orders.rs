//! Orders (KYP source). The import API arrives with the orders stage; the review core
//! needs to bind reviews to orders and to erase and export buyers' order data.

use diesel::prelude::*;

use crate::db::schema::{order_items, orders};
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
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
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items)]
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
        ))
        .execute(conn)?)
}
