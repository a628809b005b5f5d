//! The review funnel (SPEC §4). Its durable job queue is here; invitations, reminders and
//! replies by e-mail or SMS run as its jobs.

pub mod incentives;
pub mod invitations;
pub mod messages;
pub mod nps;
pub mod phone_step;
pub mod queue;
pub mod replies;
pub mod report;
pub mod resolution;
