//! membudget-segments (being built).
