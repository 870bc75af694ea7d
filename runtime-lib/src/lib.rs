//! cella
