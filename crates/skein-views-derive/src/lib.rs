//! `#[derive(View)]`: a struct whose fields are views becomes a view.
//!
//! The struct's first type parameter must be the store. Field number `i` lives under the
//! struct's prefix plus the byte `i`, so fields never share keys; loading gathers the keys of
//! every field into one multi-read.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::{parse_macro_input, spanned::Spanned, Data, DeriveInput, Error, Fields, GenericParam};

/// Implements `skein_views::View` for a struct of views.
#[proc_macro_derive(View)]
pub fn derive_view(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match generate(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn generate(input: &DeriveInput) -> Result<proc_macro2::TokenStream, Error> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => fields.named.iter().collect::<Vec<_>>(),
            _ => {
                return Err(Error::new(
                    input.span(),
                    "View needs a struct with named fields",
                ))
            }
        },
        _ => {
            return Err(Error::new(
                input.span(),
                "View can only be derived for structs",
            ))
        }
    };
    if fields.is_empty() {
        return Err(Error::new(
            input.span(),
            "a View struct needs at least one field",
        ));
    }
    if fields.len() > 256 {
        return Err(Error::new(
            input.span(),
            "a View struct has at most 256 fields",
        ));
    }
    let store = input
        .generics
        .params
        .iter()
        .find_map(|param| match param {
            GenericParam::Type(param) => Some(param.ident.clone()),
            _ => None,
        })
        .ok_or_else(|| {
            Error::new(
                Span::call_site(),
                "the first type parameter of a View struct must be the store",
            )
        })?;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let names: Vec<_> = fields.iter().map(|field| field.ident.clone()).collect();
    let types: Vec<_> = fields.iter().map(|field| field.ty.clone()).collect();
    let tags: Vec<u8> = (0..fields.len())
        .map(|index| u8::try_from(index).expect("at most 256 fields"))
        .collect();
    let first = &names[0];
    let existing_predicates = where_clause.map(|clause| &clause.predicates);

    Ok(quote! {
        impl #impl_generics ::skein_views::View<#store> for #name #type_generics
        where
            #store: ::skein_views::KeyValueStore,
            #( #types: ::skein_views::View<#store>, )*
            #existing_predicates
        {
            const INIT_KEYS: usize = 0 #( + <#types as ::skein_views::View<#store>>::INIT_KEYS )*;

            fn pre_load(context: &::skein_views::ViewContext<#store>) -> Vec<Vec<u8>> {
                let mut keys = Vec::with_capacity(Self::INIT_KEYS);
                #(
                    keys.extend(<#types as ::skein_views::View<#store>>::pre_load(
                        &context.child(&[#tags]),
                    ));
                )*
                keys
            }

            fn post_load(
                __context: ::skein_views::ViewContext<#store>,
                __values: &[Option<Vec<u8>>],
            ) -> Result<Self, ::skein_views::ViewError> {
                let mut __position = 0usize;
                #(
                    let __count = <#types as ::skein_views::View<#store>>::INIT_KEYS;
                    let #names = <#types as ::skein_views::View<#store>>::post_load(
                        __context.child(&[#tags]),
                        __values.get(__position..__position + __count).unwrap_or_default(),
                    )?;
                    __position += __count;
                )*
                let _ = __position;
                Ok(Self { #( #names ),* })
            }

            fn context(&self) -> ::skein_views::ViewContext<#store> {
                ::skein_views::View::context(&self.#first).parent(1)
            }

            fn rollback(&mut self) {
                #( ::skein_views::View::rollback(&mut self.#names); )*
            }

            fn has_pending_changes(&self) -> bool {
                false #( || ::skein_views::View::has_pending_changes(&self.#names) )*
            }

            fn clear(&mut self) {
                #( ::skein_views::View::clear(&mut self.#names); )*
            }

            fn pre_save(
                &self,
                batch: &mut ::skein_views::Batch,
            ) -> Result<(), ::skein_views::ViewError> {
                #( ::skein_views::View::pre_save(&self.#names, batch)?; )*
                Ok(())
            }

            fn post_save(&mut self) {
                #( ::skein_views::View::post_save(&mut self.#names); )*
            }
        }
    })
}
