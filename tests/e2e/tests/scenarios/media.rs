//! Files sent into a room.

use anyhow::{ensure, Context, Result};
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::media::{MediaFormat, MediaRequestParameters};
use matrix_sdk::ruma::events::room::MediaSource;
use matrix_sdk::ruma::OwnedMxcUri;
use schulhof_e2e::{backend_tests, shared_room, two_users, Section, TestServer};

backend_tests!(file_exchange);

/// Anna sends a file; Ben downloads it via its mxc URI and gets the same bytes.
async fn file_exchange(server: &TestServer) -> Result<()> {
    let (anna, ben) = two_users(server).await?;
    let room_id = shared_room(&anna, &ben).await?;
    // Binary content (not valid UTF-8), larger than one network buffer.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();

    anna.room(&room_id)?
        .send_attachment(
            "Arbeitsblatt.pdf",
            &mime::APPLICATION_PDF,
            data.clone(),
            AttachmentConfig::new(),
        )
        .await?;
    let file = ben
        .wait_for("Anna's file", |item| {
            item.room_id == room_id
                && item.section == Section::Timeline
                && item.sender() == anna.id()
                && item.content()["msgtype"] == "m.file"
        })
        .await?;
    let url = file.content()["url"]
        .as_str()
        .context("the file event has no url")?;
    ensure!(url.starts_with("mxc://"), "file url {url}");

    let request = MediaRequestParameters {
        source: MediaSource::Plain(OwnedMxcUri::from(url)),
        format: MediaFormat::File,
    };
    let downloaded = ben
        .client
        .media()
        .get_media_content(&request, false)
        .await?;
    ensure!(
        downloaded == data,
        "downloaded {} bytes that differ from the {} bytes sent",
        downloaded.len(),
        data.len()
    );
    Ok(())
}
