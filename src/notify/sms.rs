//! SMS gateway presets: how one message becomes one HTTP request. Pure (no I/O): the
//! sender (reqwest, timeouts, retries on 5xx/timeouts) is not built yet.
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

#[cfg(test)]
mod tests {
    use super::*;

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
