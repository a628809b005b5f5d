pub mod maturity;
