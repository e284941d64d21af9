//! membudget-bufferpool (being built).
