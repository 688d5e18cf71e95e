//! [`Amount`]: token quantities with 18 decimals and checked arithmetic.

use std::{fmt, str::FromStr};

use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

/// A quantity of tokens, counted in "attos": 10^-18 of a token. Arithmetic is checked and
/// never saturates: a result that does not fit is an error the caller must handle.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u128);

/// An arithmetic result that does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ArithmeticError {
    /// The result would exceed the largest value of the type.
    #[error("arithmetic overflow")]
    Overflow,
    /// The result would be negative.
    #[error("arithmetic underflow")]
    Underflow,
}

/// Why a decimal string is not an [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid amount {text:?}: {reason}")]
pub struct ParseAmountError {
    text: String,
    reason: &'static str,
}

impl Amount {
    /// Decimal places of a token.
    pub const DECIMAL_PLACES: u32 = 18;
    /// Attos in one token.
    const ATTOS_PER_TOKEN: u128 = 10u128.pow(Self::DECIMAL_PLACES);

    /// No tokens.
    pub const ZERO: Amount = Amount(0);
    /// One token.
    pub const ONE: Amount = Amount(Self::ATTOS_PER_TOKEN);
    /// The largest amount.
    pub const MAX: Amount = Amount(u128::MAX);

    /// A whole number of tokens. For literals in tests and configurations.
    ///
    /// # Panics
    /// If `tokens` exceeds about 3.4 × 10^20.
    pub const fn from_tokens(tokens: u128) -> Amount {
        match tokens.checked_mul(Self::ATTOS_PER_TOKEN) {
            Some(attos) => Amount(attos),
            None => panic!("token count too large for an Amount"),
        }
    }

    /// An amount in attos.
    pub const fn from_attos(attos: u128) -> Amount {
        Amount(attos)
    }

    /// The amount in attos.
    pub const fn to_attos(self) -> u128 {
        self.0
    }

    /// `self + other`, or an error on overflow.
    pub fn try_add(self, other: Amount) -> Result<Amount, ArithmeticError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(ArithmeticError::Overflow)
    }

    /// `self - other`, or an error if `other` is larger.
    pub fn try_sub(self, other: Amount) -> Result<Amount, ArithmeticError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(ArithmeticError::Underflow)
    }

    /// Adds in place; leaves `self` unchanged on error.
    pub fn try_add_assign(&mut self, other: Amount) -> Result<(), ArithmeticError> {
        *self = self.try_add(other)?;
        Ok(())
    }

    /// Subtracts in place; leaves `self` unchanged on error.
    pub fn try_sub_assign(&mut self, other: Amount) -> Result<(), ArithmeticError> {
        *self = self.try_sub(other)?;
        Ok(())
    }

    /// `self × factor`, or an error on overflow.
    pub fn try_mul(self, factor: u128) -> Result<Amount, ArithmeticError> {
        self.0
            .checked_mul(factor)
            .map(Amount)
            .ok_or(ArithmeticError::Overflow)
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / Self::ATTOS_PER_TOKEN;
        let fraction = self.0 % Self::ATTOS_PER_TOKEN;
        if fraction == 0 {
            return write!(formatter, "{whole}");
        }
        let digits = format!("{fraction:018}");
        write!(formatter, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

impl FromStr for Amount {
    type Err = ParseAmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason| ParseAmountError {
            text: text.to_string(),
            reason,
        };
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (text, ""),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(error("no digits"));
        }
        let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if !all_digits(whole) || !all_digits(fraction) {
            return Err(error("only digits and one decimal point are allowed"));
        }
        if fraction.len() > Self::DECIMAL_PLACES as usize {
            return Err(error("more than 18 decimal places"));
        }
        let whole_tokens: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| error("too large"))?
        };
        let mut fraction_attos: u128 = 0;
        for (place, byte) in fraction.bytes().enumerate() {
            let exponent = Self::DECIMAL_PLACES - 1 - u32::try_from(place).expect("at most 18");
            fraction_attos += u128::from(byte - b'0') * 10u128.pow(exponent);
        }
        whole_tokens
            .checked_mul(Self::ATTOS_PER_TOKEN)
            .and_then(|attos| attos.checked_add(fraction_attos))
            .map(Amount)
            .ok_or_else(|| error("too large"))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_string())
        } else {
            serializer.serialize_u128(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            text.parse().map_err(D::Error::custom)
        } else {
            u128::deserialize(deserializer).map(Amount)
        }
    }
}
