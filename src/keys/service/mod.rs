//! Key services: master keys held by a server, which wrap and unwrap the data key over
//! the network. (A placeholder: the Vault-transit branch owns this file and its
//! `KeyService` trait; AWS KMS only needs to be listed here.)

pub mod aws_kms;
