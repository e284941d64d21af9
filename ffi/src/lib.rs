//! C ABI of membudget (being built).
