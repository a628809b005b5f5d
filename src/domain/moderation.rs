//! Moderation rules (SPEC §7). The rating is deliberately not an input to any function
//! here: a negative review can never be held back for being negative.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Published,
    Rejected,
    /// Escalated for a second look.
    Flagged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Published => "published",
            Status::Rejected => "rejected",
            Status::Flagged => "flagged",
        }
    }

    pub fn parse(raw: &str) -> Result<Status> {
        match raw {
            "pending" => Ok(Status::Pending),
            "published" => Ok(Status::Published),
            "rejected" => Ok(Status::Rejected),
            "flagged" => Ok(Status::Flagged),
            _ => Err(Error::BadRequest("status must be pending, published, rejected or flagged".into())),
        }
    }
}

/// The fixed list of reasons a review may be rejected for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    Spam,
    Abuse,
    PersonalData,
    OffTopic,
    ConflictOfInterest,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Spam => "spam",
            RejectReason::Abuse => "abuse",
            RejectReason::PersonalData => "personal_data",
            RejectReason::OffTopic => "off_topic",
            RejectReason::ConflictOfInterest => "conflict_of_interest",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Publish,
    Reject,
    Flag,
}

/// The status after a decision, or why the decision is not possible.
pub fn decide(current: Status, action: Action, reason: Option<RejectReason>) -> Result<Status> {
    let next = match action {
        Action::Publish => Status::Published,
        Action::Reject => {
            if reason.is_none() {
                return Err(Error::validation(
                    "reason",
                    "is required to reject: spam, abuse, personal_data, off_topic or conflict_of_interest",
                ));
            }
            Status::Rejected
        }
        Action::Flag => Status::Flagged,
    };
    if action != Action::Reject && reason.is_some() {
        return Err(Error::validation("reason", "is only given when rejecting"));
    }
    if next == current {
        return Err(Error::Conflict(format!("the review is already {}", current.as_str())));
    }
    if current == Status::Rejected && next == Status::Flagged {
        return Err(Error::Conflict("a rejected review can only be reinstated (published)".into()));
    }
    Ok(next)
}

/// The status of a new review: published at once when the vendor auto-publishes reviews
/// of this level, except insider reviews, which a person always looks at.
pub fn initial_status(level: u8, insider: bool, auto_publish_min_level: Option<i32>) -> Status {
    match auto_publish_min_level {
        Some(min) if !insider && i32::from(level) >= min => Status::Published,
        _ => Status::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use Action::*;
        use Status::*;
        assert_eq!(decide(Pending, Publish, None).unwrap(), Published);
        assert_eq!(decide(Pending, Flag, None).unwrap(), Flagged);
        assert_eq!(decide(Flagged, Reject, Some(RejectReason::Spam)).unwrap(), Rejected);
        assert_eq!(decide(Published, Reject, Some(RejectReason::PersonalData)).unwrap(), Rejected);
        assert_eq!(decide(Rejected, Publish, None).unwrap(), Published);
        assert!(matches!(decide(Pending, Reject, None), Err(Error::Validation { .. })));
        assert!(matches!(decide(Pending, Publish, Some(RejectReason::Spam)), Err(Error::Validation { .. })));
        assert!(matches!(decide(Published, Publish, None), Err(Error::Conflict(_))));
        assert!(matches!(decide(Rejected, Flag, None), Err(Error::Conflict(_))));
    }

    #[test]
    fn auto_publish_depends_on_level_and_insider_only() {
        assert_eq!(initial_status(3, false, Some(3)), Status::Published);
        assert_eq!(initial_status(2, false, Some(3)), Status::Pending);
        assert_eq!(initial_status(5, true, Some(0)), Status::Pending);
        assert_eq!(initial_status(5, false, None), Status::Pending);
    }
}
