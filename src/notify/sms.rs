//! SMS gateway presets: how one message becomes one HTTP request (pure), and the sender:
//! reqwest with a timeout and no redirects, retrying only on 5xx answers and timeouts.
//!
//! Bodies and query strings go through `url::form_urlencoded`, never string
//! concatenation, so a `&`, `=` or `+` in a message or number can't forge a parameter.

use base64::Engine;

/// One HTTP request to a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    /// Header name and value pairs.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// Twilio-compatible: form POST to `{base}/2010-04-01/Accounts/{sid}/Messages.json`
/// with HTTP basic auth (account SID, auth token).
pub fn twilio(base: &str, sid: &str, token: &str, from: &str, to: &str, text: &str) -> Request {
    let mut path = url::form_urlencoded::byte_serialize(sid.as_bytes()).collect::<String>();
    path = format!("{}/2010-04-01/Accounts/{path}/Messages.json", base.trim_end_matches('/'));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("To", to)
        .append_pair("From", from)
        .append_pair("Body", text)
        .finish();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    Request {
        method: "POST",
        url: path,
        headers: vec![
            ("Authorization".into(), format!("Basic {auth}")),
            ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
        ],
        body: Some(body),
    }
}

/// The `X-Twilio-Signature` of a request Twilio posts to `url` (the full URL it called, query
/// included) with form `params`: base64 of HMAC-SHA1 under the auth token over the URL and
/// each parameter's name and value, sorted by name.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_owned();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, data.as_bytes()).as_ref())
}

/// SMS.ru: `{base}/sms/send?api_id=…&to=…&msg=…&json=1` (GET).
pub fn sms_ru(base: &str, api_id: &str, to: &str, text: &str) -> Request {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("api_id", api_id)
        .append_pair("to", to.trim_start_matches('+'))
        .append_pair("msg", text)
        .append_pair("json", "1")
        .finish();
    Request {
        method: "GET",
        url: format!("{}/sms/send?{query}", base.trim_end_matches('/')),
        headers: vec![],
        body: None,
    }
}

/// How a placeholder's value is escaped where it lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// A JSON string literal, quotes included: `{"to": {to}}`.
    Json,
    /// `application/x-www-form-urlencoded` (also for the URL's query).
    Form,
}

/// Fills `{to}`, `{from}` and `{text}` in one pass (a value containing `{to}` is not
/// filled again), escaping each value; other braces are kept as they are.
pub fn fill(template: &str, values: &[(&str, &str)], escape: Escape) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    'scan: while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        for (name, value) in values {
            let placeholder = format!("{{{name}}}");
            if after.starts_with(&placeholder) {
                match escape {
                    Escape::Json => out.push_str(&serde_json::Value::String((*value).to_owned()).to_string()),
                    Escape::Form => out.extend(url::form_urlencoded::byte_serialize(value.as_bytes())),
                }
                rest = &after[placeholder.len()..];
                continue 'scan;
            }
        }
        out.push('{');
        rest = &after[1..];
    }
    out.push_str(rest);
    out
}

/// Any HTTP gateway: the URL and body templates filled (URL values form-encoded, body
/// values as `format` says), the configured headers, a content type for the body.
pub fn generic(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    format: Escape,
    values: &[(&str, &str)],
) -> Request {
    let mut headers = headers.to_vec();
    if body.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        let content_type = match format {
            Escape::Json => "application/json",
            Escape::Form => "application/x-www-form-urlencoded",
        };
        headers.push(("Content-Type".into(), content_type.into()));
    }
    Request {
        method: if method.eq_ignore_ascii_case("GET") { "GET" } else { "POST" },
        url: fill(url, values, Escape::Form),
        headers,
        body: body.map(|b| fill(b, values, format)),
    }
}

/// The request for `settings`' gateway, or `None` when none is configured (outbox).
pub fn request_for(settings: &crate::config::SmsSettings, to: &str, text: &str) -> Result<Option<Request>, String> {
    let need =
        |v: &Option<String>, name: &str| v.clone().filter(|v| !v.is_empty()).ok_or(format!("sms.{name} is not set"));
    match settings.gateway.as_str() {
        "" => Ok(None),
        "twilio" => Ok(Some(twilio(
            &need(&settings.base_url, "base_url").unwrap_or_else(|_| "https://api.twilio.com".into()),
            &need(&settings.account_sid, "account_sid")?,
            &need(&settings.auth_token, "auth_token")?,
            &need(&settings.from, "from")?,
            to,
            text,
        ))),
        "smsru" => Ok(Some(sms_ru(
            &need(&settings.base_url, "base_url").unwrap_or_else(|_| "https://sms.ru".into()),
            &need(&settings.api_id, "api_id")?,
            to,
            text,
        ))),
        "http" => {
            let format = match settings.body_format.as_deref().unwrap_or("json") {
                "json" => Escape::Json,
                "form" => Escape::Form,
                other => return Err(format!("sms.body_format {other} is not json or form")),
            };
            let method = settings.method.as_deref().unwrap_or("POST");
            if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("POST") {
                return Err(format!("sms.method {method} is not GET or POST"));
            }
            let headers: Vec<(String, String)> = settings.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let from = settings.from.clone().unwrap_or_default();
            let values = [("to", to), ("from", from.as_str()), ("text", text)];
            Ok(Some(generic(&need(&settings.url, "url")?, method, &headers, settings.body.as_deref(), format, &values)))
        }
        other => Err(format!("sms.gateway {other} is not twilio, smsru or http")),
    }
}

/// Sends one request: up to 3 attempts, the next only after a 5xx answer or a timeout; a
/// 4xx is final. Returns the failure a person can act on.
pub async fn send(client: &reqwest::Client, req: &Request) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
        }
        let mut r = match req.method {
            "GET" => client.get(&req.url),
            _ => client.post(&req.url),
        };
        for (k, v) in &req.headers {
            r = r.header(k, v);
        }
        if let Some(body) = &req.body {
            r = r.body(body.clone());
        }
        match r.send().await {
            Ok(res) if res.status().is_success() => return Ok(()),
            Ok(res) if res.status().is_server_error() => last = format!("gateway answered {}", res.status()),
            Ok(res) => return Err(format!("gateway refused the message: {}", res.status())),
            Err(e) if e.is_timeout() || e.is_connect() => last = format!("gateway unreachable: {e}"),
            Err(e) => return Err(format!("gateway request failed: {e}")),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_signatures_match_twilios_published_example() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(twilio_signature("12345", url, &params), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        assert_ne!(twilio_signature("12346", url, &params), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
    }

    #[test]
    fn generic_gateway_fills_and_escapes_each_value_once() {
        let values = [("to", "+447400123456"), ("from", "Shop"), ("text", "Code 012345 \"quoted\" & {to}")];
        let r = generic(
            "https://gw.example/send?to={to}&key=K{x}",
            "post",
            &[("X-Api-Key".into(), "secret".into())],
            Some(r#"{"to": {to}, "sender": {from}, "message": {text}}"#),
            Escape::Json,
            &values,
        );
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "https://gw.example/send?to=%2B447400123456&key=K{x}");
        assert_eq!(
            r.body.as_deref(),
            Some(r#"{"to": "+447400123456", "sender": "Shop", "message": "Code 012345 \"quoted\" & {to}"}"#)
        );
        assert_eq!(
            r.headers,
            [("X-Api-Key".to_owned(), "secret".to_owned()), ("Content-Type".to_owned(), "application/json".to_owned())]
        );
        let form = generic("https://gw.example/", "GET", &[], Some("msg={text}&to={to}"), Escape::Form, &values);
        assert_eq!(form.method, "GET");
        assert_eq!(form.body.as_deref(), Some("msg=Code+012345+%22quoted%22+%26+%7Bto%7D&to=%2B447400123456"));
    }

    #[test]
    fn twilio_request_is_a_basic_auth_form_post() {
        let r = twilio("http://127.0.0.1:9/", "AC1", "tok", "+15005550006", "+447400123456", "Code 012345 & more=1");
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json");
        assert_eq!(r.headers[0], ("Authorization".into(), "Basic QUMxOnRvaw==".into()));
        assert_eq!(r.body.as_deref(), Some("To=%2B447400123456&From=%2B15005550006&Body=Code+012345+%26+more%3D1"));
    }

    #[test]
    fn sms_ru_request_escapes_the_message() {
        let r = sms_ru("https://sms.ru", "k&y", "+79161234567", "Код 012345");
        assert_eq!(r.method, "GET");
        assert_eq!(r.url, "https://sms.ru/sms/send?api_id=k%26y&to=79161234567&msg=%D0%9A%D0%BE%D0%B4+012345&json=1");
        assert_eq!(r.body, None);
    }
}
