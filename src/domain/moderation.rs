//! Moderation rules (see reviews core).
