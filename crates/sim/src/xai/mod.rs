//! A wire-compatible simulator of the xAI Grok Imagine video API (`spec/upstreams.md`).

pub mod rules;
