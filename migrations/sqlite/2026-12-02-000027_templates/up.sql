-- A vendor's own wording of the invitation and reminder e-mails, per language (en, ru):
-- minijinja templates for the subject, the text part and the HTML part (autoescaped; none =
-- text only). Without a row the shipped templates are used.
CREATE TABLE funnel_templates (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    locale TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, locale)
);
