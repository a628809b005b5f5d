//! Google's product-review feed (Product Review Feeds, schema 2.4, the current one), rendered from reviews
//! the vendor's own page shows. Pure: the caller chooses the reviews (published, not
//! insider, about a product) and passes the instants.

use std::fmt::Write;

/// Schema version this feed declares and is validated against.
pub const VERSION: &str = "2.4";
const SCHEMA_LOCATION: &str = "http://www.google.com/shopping/reviews/schema/product/2.4/product_reviews.xsd";

pub struct Publisher<'a> {
    pub name: &'a str,
    pub favicon: Option<&'a str>,
}

/// The product a review is about, with the identifiers Google matches offers by.
#[derive(Debug, Clone, Default)]
pub struct FeedProduct {
    pub sku: String,
    pub name: Option<String>,
    pub url: String,
    pub gtin: Option<String>,
    pub mpn: Option<String>,
    pub brand: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FeedReview {
    pub id: String,
    /// Empty when the author's data was erased or no name was given: shown as anonymous.
    pub reviewer: String,
    /// When the review was written (Unix ms).
    pub written_at: i64,
    pub title: String,
    pub content: String,
    pub pros: Option<String>,
    pub cons: Option<String>,
    /// The page that shows the review (the product page, which lists many: type `group`).
    pub review_url: String,
    pub rating: i32,
    /// BCP 47 locale of the text (`en-GB`); the feed carries its language part.
    pub locale: String,
    pub product: FeedProduct,
    /// Review level 3 or more: bound to an order the shop imported (SPEC §2).
    pub verified_purchase: bool,
    pub incentivised: bool,
    /// Written after an invitation sent for the order (`post_fulfillment`), else `unsolicited`.
    pub invited: bool,
}

/// Text content for XML 1.0: the five markup characters escaped and every character the
/// XML 1.0 `Char` production excludes dropped (stored text refuses control characters
/// already; this keeps the feed well-formed whatever an older row holds).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn element(out: &mut String, indent: usize, name: &str, text: &str) {
    let _ = writeln!(out, "{:indent$}<{name}>{}</{name}>", "", escape(text));
}

/// Non-blank lines of a pros/cons paragraph, one `<pro>`/`<con>` each.
fn items(text: &Option<String>) -> Vec<&str> {
    text.as_deref().map(|t| t.lines().map(str::trim).filter(|l| !l.is_empty()).collect()).unwrap_or_default()
}

/// The language subtag of a locale (`en` of `en-GB`), if it is one (2–3 letters).
fn language(locale: &str) -> Option<&str> {
    let lang = locale.split(['-', '_']).next()?;
    ((2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_alphabetic())).then_some(lang)
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Whether Google's schema accepts this review: it needs content, a review URL and a
/// product URL (`httpUrlType`), so a review of a product without any URL is left out.
pub fn is_complete(r: &FeedReview) -> bool {
    let http = |u: &str| u.starts_with("https://") || u.starts_with("http://");
    !r.content.trim().is_empty() && http(&r.review_url) && http(&r.product.url)
}

/// The whole feed document. `deleted` lists reviews withdrawn since the `since` instant
/// of an incremental fetch (Google removes them).
pub fn google_product_reviews(publisher: &Publisher<'_>, reviews: &[FeedReview], deleted: &[String]) -> String {
    let mut out = String::with_capacity(512 + reviews.len() * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<feed xmlns:vc=\"http://www.w3.org/2007/XMLSchema-versioning\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:noNamespaceSchemaLocation=\"{SCHEMA_LOCATION}\">"
    );
    element(&mut out, 2, "version", VERSION);
    out.push_str("  <aggregator>\n");
    element(&mut out, 4, "name", "TruView");
    out.push_str("  </aggregator>\n  <publisher>\n");
    element(&mut out, 4, "name", if publisher.name.trim().is_empty() { "Shop" } else { publisher.name });
    if let Some(favicon) = publisher.favicon {
        element(&mut out, 4, "favicon", favicon);
    }
    out.push_str("  </publisher>\n");
    let complete: Vec<&FeedReview> = reviews.iter().filter(|r| is_complete(r)).collect();
    if !complete.is_empty() {
        out.push_str("  <reviews>\n");
        for r in complete {
            write_review(&mut out, r);
        }
        out.push_str("  </reviews>\n");
    }
    if !deleted.is_empty() {
        out.push_str("  <deleted_reviews>\n");
        for id in deleted {
            element(&mut out, 4, "review_id", id);
        }
        out.push_str("  </deleted_reviews>\n");
    }
    out.push_str("</feed>\n");
    out
}

fn write_review(out: &mut String, r: &FeedReview) {
    out.push_str("    <review>\n");
    element(out, 6, "review_id", &r.id);
    out.push_str("      <reviewer>\n");
    if r.reviewer.trim().is_empty() {
        out.push_str("        <name is_anonymous=\"true\">Anonymous</name>\n");
    } else {
        element(out, 8, "name", &r.reviewer);
    }
    out.push_str("      </reviewer>\n");
    element(out, 6, "is_verified_purchase", if r.verified_purchase { "true" } else { "false" });
    element(out, 6, "is_incentivized_review", if r.incentivised { "true" } else { "false" });
    element(out, 6, "review_timestamp", &rfc3339(r.written_at));
    if !r.title.trim().is_empty() {
        element(out, 6, "title", &r.title);
    }
    element(out, 6, "content", &r.content);
    if let Some(language) = language(&r.locale) {
        element(out, 6, "review_language", language);
    }
    for (list, item, text) in [("pros", "pro", &r.pros), ("cons", "con", &r.cons)] {
        let lines = items(text);
        if !lines.is_empty() {
            let _ = writeln!(out, "      <{list}>");
            for line in lines {
                element(out, 8, item, line);
            }
            let _ = writeln!(out, "      </{list}>");
        }
    }
    let _ = writeln!(out, "      <review_url type=\"group\">{}</review_url>", escape(&r.review_url));
    out.push_str("      <ratings>\n");
    let _ = writeln!(out, "        <overall min=\"1\" max=\"5\">{}</overall>", r.rating.clamp(1, 5));
    out.push_str("      </ratings>\n      <products>\n        <product>\n          <product_ids>\n");
    let p = &r.product;
    for (list, item, value) in [("gtins", "gtin", &p.gtin), ("mpns", "mpn", &p.mpn)] {
        if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            let _ = writeln!(
                out,
                "            <{list}>\n              <{item}>{}</{item}>\n            </{list}>",
                escape(v)
            );
        }
    }
    let _ = writeln!(out, "            <skus>\n              <sku>{}</sku>\n            </skus>", escape(&p.sku));
    if let Some(brand) = p.brand.as_deref().filter(|v| !v.trim().is_empty()) {
        let _ = writeln!(
            out,
            "            <brands>\n              <brand>{}</brand>\n            </brands>",
            escape(brand)
        );
    }
    out.push_str("          </product_ids>\n");
    if let Some(name) = p.name.as_deref().filter(|v| !v.trim().is_empty()) {
        element(out, 10, "product_name", name);
    }
    element(out, 10, "product_url", &p.url);
    out.push_str("        </product>\n      </products>\n");
    element(out, 6, "is_spam", "false");
    element(out, 6, "collection_method", if r.invited { "post_fulfillment" } else { "unsolicited" });
    out.push_str("    </review>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review() -> FeedReview {
        FeedReview {
            id: "r1".into(),
            reviewer: "Ann <b>".into(),
            written_at: 1_700_000_000_000,
            title: "Good & cheap".into(),
            content: "Works\u{0001} well".into(),
            pros: Some("light\n\n small ".into()),
            cons: None,
            review_url: "https://shop.example/p/1".into(),
            rating: 4,
            locale: "en-GB".into(),
            product: FeedProduct {
                sku: "SKU-1".into(),
                name: Some("Lamp".into()),
                url: "https://shop.example/p/1".into(),
                gtin: Some("4006381333931".into()),
                mpn: None,
                brand: Some("Acme".into()),
            },
            verified_purchase: true,
            incentivised: false,
            invited: true,
        }
    }

    #[test]
    fn escapes_markup_and_drops_characters_xml_forbids() {
        assert_eq!(escape("a<b>&\"c'\u{0}\u{1F}\td"), "a&lt;b&gt;&amp;&quot;c&apos;\td");
    }

    #[test]
    fn renders_the_flags_identifiers_and_pros_in_schema_order() {
        let xml = google_product_reviews(&Publisher { name: "Shop", favicon: None }, &[review()], &[]);
        let order = [
            "<review_id>r1</review_id>",
            "<name>Ann &lt;b&gt;</name>",
            "<is_verified_purchase>true</is_verified_purchase>",
            "<is_incentivized_review>false</is_incentivized_review>",
            "<review_timestamp>2023-11-14T22:13:20Z</review_timestamp>",
            "<title>Good &amp; cheap</title>",
            "<content>Works well</content>",
            "<review_language>en</review_language>",
            "<pro>light</pro>",
            "<pro>small</pro>",
            "<review_url type=\"group\">https://shop.example/p/1</review_url>",
            "<overall min=\"1\" max=\"5\">4</overall>",
            "<gtin>4006381333931</gtin>",
            "<sku>SKU-1</sku>",
            "<brand>Acme</brand>",
            "<product_name>Lamp</product_name>",
            "<is_spam>false</is_spam>",
            "<collection_method>post_fulfillment</collection_method>",
        ];
        let mut at = 0;
        for part in order {
            let found = xml[at..].find(part).unwrap_or_else(|| panic!("{part} missing or out of order in\n{xml}"));
            at += found + part.len();
        }
        assert!(!xml.contains("<cons>") && !xml.contains("<mpns>") && !xml.contains("<deleted_reviews>"));
    }

    #[test]
    fn anonymous_author_and_incomplete_reviews() {
        let anonymous = FeedReview { reviewer: String::new(), ..review() };
        let no_url =
            FeedReview { id: "r2".into(), product: FeedProduct { url: String::new(), ..review().product }, ..review() };
        let xml =
            google_product_reviews(&Publisher { name: "Shop", favicon: None }, &[anonymous, no_url], &["r0".into()]);
        assert!(xml.contains("<name is_anonymous=\"true\">Anonymous</name>"));
        assert!(!xml.contains("<review_id>r2</review_id>"));
        assert!(xml.contains("<deleted_reviews>\n    <review_id>r0</review_id>"));
    }
}
