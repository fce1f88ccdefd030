use super::super::tests::T;
