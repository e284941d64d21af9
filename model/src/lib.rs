//! membudget-model (being built).
