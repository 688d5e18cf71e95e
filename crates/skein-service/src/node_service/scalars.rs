//! The GraphQL scalars: Skein's identifiers and amounts in their text form, the same text
//! the command line reads and prints. A malformed one is refused while the request is
//! checked, before anything runs.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// Declares a scalar named like its wrapper, read and written as the wrapped type's text.
macro_rules! text_scalars {
    ($($(#[doc = $doc:literal])* $name:ident($inner:ty);)*) => {$(
        $(#[doc = $doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(pub $inner);

        $(#[doc = $doc])*
        #[Scalar]
        impl ScalarType for $name {
            fn parse(value: Value) -> InputValueResult<Self> {
                let Value::String(text) = &value else {
                    return Err(InputValueError::expected_type(value));
                };
                text.parse::<$inner>().map($name).map_err(|error| {
                    InputValueError::custom(format!(
                        "{text:?} is not a {}: {error}",
                        stringify!($name)
                    ))
                })
            }

            fn to_value(&self) -> Value {
                Value::String(self.0.to_string())
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                $name(value)
            }
        }
    )*};
}

text_scalars! {
    /// A chain: 64 hexadecimal digits.
    ChainId(skein_base::ChainId);
    /// A hash (of a block, say): 64 hexadecimal digits.
    CryptoHash(skein_base::crypto::CryptoHash);
    /// An application: 64 hexadecimal digits.
    ApplicationId(skein_base::ApplicationId);
    /// Published application code: `CONTRACT_HASH:SERVICE_HASH`.
    BytecodeId(skein_base::BytecodeId);
    /// Who holds an account on a chain: 64 hexadecimal digits.
    AccountOwner(skein_base::AccountOwner);
    /// An account: `OWNER@CHAIN`, or a chain's own account as `CHAIN`.
    Account(skein_base::Account);
    /// A public key, which owns chains.
    PublicKey(skein_base::crypto::PublicKey);
    /// Tokens, with up to 18 decimals: `"1.5"`.
    Amount(skein_base::Amount);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_scalars_read_what_they_write() {
        let chain = ChainId(skein_base::ChainId::root(3));
        assert_eq!(ChainId::parse(chain.to_value()).unwrap(), chain);
        let amount = Amount("1.5".parse().unwrap());
        assert_eq!(amount.to_value(), Value::String("1.5".into()));
        assert_eq!(Amount::parse(amount.to_value()).unwrap(), amount);
    }

    #[test]
    fn test_malformed_scalars_are_refused_with_the_reason() {
        let error = ChainId::parse(Value::String("not hex".into())).unwrap_err();
        assert!(error
            .into_server_error(Default::default())
            .message
            .contains("is not a ChainId"));
        assert!(Amount::parse(Value::Number(5.into())).is_err());
        assert!(Account::parse(Value::String("x@y".into())).is_err());
    }
}
