//! A contact's data taken away (GDPR Art. 15 and 20): one zip of `contact.json` (the contact, its
//! conversations and their messages, in the API's shapes) and each message's bytes as received,
//! `messages/<id>.eml`. Written as it is read, a page of conversations and of messages and one
//! message's bytes at a time, so a contact with years of mail costs the memory of its largest
//! message. The CLI writes the zip to a file; the HTTP door to an unnamed temporary file it then
//! streams.

use crate::store::contacts::{self, Contact};
use crate::store::conversations::{self, Conversation, ConversationFilter};
use crate::store::page::{At, Page};
use crate::store::{Db, StoreError, messages};
use serde::Serialize;
use std::io::{Seek, Write};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

/// Why an export stopped.
#[derive(Debug)]
pub enum ExportError {
    NoContact,
    Store(StoreError),
    Write(String),
}

impl From<StoreError> for ExportError {
    fn from(e: StoreError) -> ExportError {
        ExportError::Store(e)
    }
}

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> ExportError {
        ExportError::Write(e.to_string())
    }
}

impl From<zip::result::ZipError> for ExportError {
    fn from(e: zip::result::ZipError) -> ExportError {
        ExportError::Write(e.to_string())
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Exported {
    pub contact_id: i64,
    pub conversations: usize,
    pub messages: usize,
}

/// Pages read at a time.
const PAGE: usize = 200;

/// Writes the export of contact `email` of `account_id` into `out` as a zip.
pub async fn contact<W: Write + Seek>(db: &Db, account_id: i64, email: &str, out: W) -> Result<Exported, ExportError> {
    let asked = email.to_string();
    let contact: Contact = db
        .run(move |c| Box::pin(async move { contacts::by_email(c, account_id, &asked).await }))
        .await?
        .ok_or(ExportError::NoContact)?;
    // Stored: the mail is mostly compressed already (attachments), and a zip of plain entries is
    // read by anything.
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut zip = ZipWriter::new(out);
    let mut exported = Exported {
        contact_id: contact.id,
        conversations: 0,
        messages: 0,
    };
    let mut ids = Vec::new();
    zip.start_file("contact.json", options)?;
    write!(zip, "{{\"contact\":{},\"conversations\":[", json(&contact)?)?;
    let filter = ConversationFilter {
        contact: Some(contact.id),
        ..ConversationFilter::default()
    };
    let mut page: Page<At> = Page::first(PAGE);
    loop {
        let (filter, asked) = (filter.clone(), page.clone());
        let got = db
            .run(move |c| Box::pin(async move { conversations::list(c, account_id, &filter, &asked).await }))
            .await?;
        for conversation in &got.items {
            if exported.conversations > 0 {
                zip.write_all(b",")?;
            }
            exported.conversations += 1;
            write_conversation(db, &mut zip, conversation, &mut ids).await?;
        }
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    zip.write_all(b"]}")?;
    for id in ids {
        let Some(raw) = db.run(move |c| Box::pin(messages::raw(c, id))).await? else {
            continue;
        };
        zip.start_file(format!("messages/{id}.eml"), options)?;
        zip.write_all(&raw)?;
        exported.messages += 1;
    }
    zip.finish()?;
    Ok(exported)
}

/// One conversation with its messages, oldest first; their ids noted for the `.eml` files.
async fn write_conversation<W: Write + Seek>(
    db: &Db,
    zip: &mut ZipWriter<W>,
    conversation: &Conversation,
    ids: &mut Vec<i64>,
) -> Result<(), ExportError> {
    let head = json(conversation)?;
    // The conversation's fields, then its messages beside them.
    write!(zip, "{},\"messages\":[", head.strip_suffix('}').unwrap_or(&head))?;
    let id = conversation.id;
    let mut page: Page<i64> = Page::first(PAGE);
    let mut first = true;
    loop {
        let asked = page.clone();
        let got = db
            .run(move |c| Box::pin(async move { messages::of_conversation_oldest_first(c, id, &asked).await }))
            .await?;
        for message in &got.items {
            if !first {
                zip.write_all(b",")?;
            }
            first = false;
            zip.write_all(json(message)?.as_bytes())?;
            ids.push(message.id);
        }
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    zip.write_all(b"]}")?;
    Ok(())
}

fn json<T: Serialize>(value: &T) -> Result<String, ExportError> {
    serde_json::to_string(value).map_err(|e| ExportError::Write(e.to_string()))
}
