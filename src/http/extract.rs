//! Request extractors: who is calling (staff session, secret key, publishable key).
