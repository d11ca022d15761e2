//! Every text a person reads when the school's rights refuse something: the refusal itself
//! (the `error` of the 403 and the body of the server notice) for each [`Rule`], the line
//! naming what was refused for each [`Action`], and the texts of the server-notices room.
//!
//! The texts of refused logins (missing consent, password still to be chosen) are here too.
//!
//! Written for their readers: short, concrete ("deiner Klasse"), and naming what is possible
//! instead. German comes in two forms, "du" (students, by default) and "Sie" (parents and
//! staff); which one a person gets is the server's setting `informal_address`. English has
//! one form. The test `every_rule_has_both_forms_and_english` checks that every rule has all
//! three and that each form keeps to its way of addressing the reader.

use crate::action::Action;
use crate::rule::Rule;

/// How a person is addressed in German.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// Informal ("du"): students by default.
    Du,
    /// Formal ("Sie"): parents, teachers, the school management, accounts outside the
    /// directory.
    Sie,
}

/// A text addressed to its reader: German in both forms, and English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// German, addressing the reader with "du".
    pub du: &'static str,
    /// German, addressing the reader with "Sie".
    pub sie: &'static str,
    /// English.
    pub en: &'static str,
}

impl Message {
    /// The German text in the form for `address`.
    pub fn de(&self, address: Address) -> &'static str {
        match address {
            Address::Du => self.du,
            Address::Sie => self.sie,
        }
    }
}

/// A text that addresses nobody (the same for "du" and "Sie"), in German and English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// German.
    pub de: &'static str,
    /// English.
    pub en: &'static str,
}

/// The name of the server-notices room.
pub const NOTICE_ROOM_NAME: Line = Line {
    de: "Schulhof-Hinweise",
    en: "Schulhof notices",
};

/// The topic of the server-notices room.
pub const NOTICE_ROOM_TOPIC: Message = Message {
    du: "Hier erklärt Schulhof, wenn etwas nicht geklappt hat, und was du stattdessen tun kannst.",
    sie:
        "Hier erklärt Schulhof, wenn etwas nicht geklappt hat, und was Sie stattdessen tun können.",
    en: "Here Schulhof explains when something did not work, and what you can do instead.",
};

/// A login refused because the school has no consent for the account yet.
pub const LOGIN_NO_CONSENT: Message = Message {
    du: "Für dein Konto fehlt noch die Einwilligung. Das Sekretariat schaltet es frei, sobald sie da ist.",
    sie: "Für Ihr Konto fehlt noch die Einwilligung. Das Sekretariat schaltet es frei, sobald sie vorliegt.",
    en: "Consent for your account is still missing. The school office unlocks it once consent has been given.",
};

/// A login refused because the password is still to be chosen with the start code; `{url}`
/// stands for the first-login page.
pub const LOGIN_START_CODE: Message = Message {
    du: "Wähle zuerst dein Passwort: unter {url} mit dem Startcode von deinem Zugangsbrief.",
    sie: "Bitte wählen Sie zuerst Ihr Passwort: unter {url} mit dem Startcode von Ihrem Zugangsbrief.",
    en: "First choose your password: at {url} with the start code from your access letter.",
};

/// Builds a [`Message`] from its three texts.
const fn message(du: &'static str, sie: &'static str, en: &'static str) -> Message {
    Message { du, sie, en }
}

impl Rule {
    /// What the person refused by this rule reads: why, and what is possible instead.
    pub const fn text(self) -> Message {
        match self {
            Rule::AccountRestricted => message(
                "Dein Konto kann noch nichts tun, weil die Einwilligung fehlt. Das Sekretariat schaltet es frei, sobald sie da ist.",
                "Ihr Konto kann noch nichts tun, weil die Einwilligung fehlt. Das Sekretariat schaltet es frei, sobald sie vorliegt.",
                "Your account cannot do anything yet because consent is missing. The school office unlocks it once consent has been given.",
            ),
            Rule::AccountLocked => message(
                "Dein Konto ist gesperrt. Frag im Sekretariat nach.",
                "Ihr Konto ist gesperrt. Bitte wenden Sie sich an das Sekretariat.",
                "Your account is locked. Please contact the school office.",
            ),
            Rule::AccountDeactivated => message(
                "Dein Konto ist abgeschaltet. Wenn das ein Fehler ist, frag im Sekretariat nach.",
                "Ihr Konto ist abgeschaltet. Wenn das ein Irrtum ist, wenden Sie sich bitte an das Sekretariat.",
                "Your account is switched off. If this is a mistake, please contact the school office.",
            ),
            Rule::AccountNotInDirectory => message(
                "Dein Konto gehört nicht zum Schulverzeichnis und kann hier nichts tun. Frag bei der Schulleitung nach.",
                "Ihr Konto gehört nicht zum Schulverzeichnis und kann hier nichts tun. Bitte wenden Sie sich an die Schulleitung.",
                "Your account is not part of the school directory and cannot do anything here. Please contact the school management.",
            ),
            Rule::TargetUnavailable => message(
                "Diese Person kann Schulhof gerade nicht benutzen. Sprich sie in der Schule an.",
                "Diese Person kann Schulhof zurzeit nicht nutzen. Bitte erreichen Sie sie auf anderem Weg.",
                "This person cannot use Schulhof at the moment. Please reach them another way.",
            ),
            Rule::TargetNotInDirectory => message(
                "Diese Person gehört nicht zum Schulverzeichnis, deshalb kann ihr hier niemand schreiben.",
                "Diese Person gehört nicht zum Schulverzeichnis, deshalb kann ihr hier niemand schreiben.",
                "This person is not part of the school directory, so nobody can write to them here.",
            ),
            Rule::StudentContactOutsideGroups => message(
                "Du kannst nur Personen aus deiner Klasse und deinen Gruppen und Lehrkräften schreiben. Eine Lehrkraft kann euch zusammen in einen Raum einladen.",
                "Sie können nur Personen aus Ihrer Klasse und Ihren Gruppen und Lehrkräften schreiben. Eine Lehrkraft kann Sie gemeinsam in einen Raum einladen.",
                "You can only write to people in your class and your groups and to teachers. A teacher can invite you both into a room.",
            ),
            Rule::ParentContactOutsideGroups => message(
                "Du kannst nur Eltern aus den Klassen deiner Kinder, deinen Kindern und Lehrkräften schreiben. Eine Lehrkraft kann euch zusammen in einen Raum einladen.",
                "Sie können nur Eltern aus den Klassen Ihrer Kinder, Ihren Kindern und Lehrkräften schreiben. Eine Lehrkraft kann Sie gemeinsam in einen Raum einladen.",
                "You can only write to parents from your children's classes, to your children and to teachers. A teacher can invite you both into a room.",
            ),
            Rule::TeacherContactOutsideGroups => message(
                "Du kannst nur Personen aus deinen Klassen und Gruppen und anderen Lehrkräften schreiben. Die Schulleitung kann das ändern.",
                "Sie können nur Personen aus Ihren Klassen und Gruppen und anderen Lehrkräften schreiben. Die Schulleitung kann das ändern.",
                "You can only write to people in your classes and groups and to other teachers. The school management can change this.",
            ),
            Rule::ContactTeachersOnly => message(
                "Du kannst nur Lehrkräften und der Schulleitung schreiben. Frag eine Lehrkraft, wenn du jemand anderen erreichen möchtest.",
                "Sie können nur Lehrkräften und der Schulleitung schreiben. Bitte fragen Sie eine Lehrkraft, wenn Sie jemand anderen erreichen möchten.",
                "You can only write to teachers and the school management. Ask a teacher if you want to reach someone else.",
            ),
            Rule::ParentRoomOutsideGroups => message(
                "In Räume kannst du nur Eltern aus den Klassen deiner Kinder und Lehrkräfte einladen. Deinen Kindern kannst du direkt schreiben.",
                "In Räume können Sie nur Eltern aus den Klassen Ihrer Kinder und Lehrkräfte einladen. Ihren Kindern können Sie direkt schreiben.",
                "You can only invite parents from your children's classes and teachers into rooms. You can write to your children directly.",
            ),
            Rule::RoomMemberNoContact => message(
                "Du kannst diese Person nicht einladen, weil andere im Raum ihr nicht schreiben dürfen. Eine Lehrkraft kann sie einladen.",
                "Sie können diese Person nicht einladen, weil andere im Raum ihr nicht schreiben dürfen. Eine Lehrkraft kann sie einladen.",
                "You cannot invite this person because others in the room may not write to them. A teacher can invite them.",
            ),
            Rule::InviteOutdated => message(
                "Diese Einladung gilt nicht mehr, weil sich die Klassen oder Gruppen geändert haben. Du kannst sie ablehnen.",
                "Diese Einladung gilt nicht mehr, weil sich die Klassen oder Gruppen geändert haben. Sie können sie ablehnen.",
                "This invitation is no longer valid because classes or groups have changed. You can decline it.",
            ),
            Rule::ConversationNoLongerAllowed => message(
                "Hier kannst du nicht mehr schreiben, weil jemand in diesem Chat nicht mehr in deiner Klasse oder Gruppe ist. Die alten Nachrichten kannst du weiter lesen.",
                "Hier können Sie nicht mehr schreiben, weil jemand in diesem Chat nicht mehr in einer Gruppe mit Ihnen ist. Die bisherigen Nachrichten können Sie weiter lesen.",
                "You can no longer write here because someone in this chat is no longer in a class or group with you. You can still read the earlier messages.",
            ),
            Rule::StudentCreateRoom => message(
                "Du kannst keine Chaträume anlegen und niemanden einladen. Du kannst aber Personen aus deiner Klasse und Lehrkräften direkt schreiben.",
                "Sie können keine Chaträume anlegen und niemanden einladen. Sie können aber Personen aus Ihrer Klasse und Lehrkräften direkt schreiben.",
                "You cannot create chat rooms or invite anyone. But you can write directly to people in your class and to teachers.",
            ),
            Rule::CreateRoomNotAllowed => message(
                "Du kannst keine Chaträume anlegen und niemanden einladen. Direkt schreiben kannst du weiterhin.",
                "Sie können keine Chaträume anlegen und niemanden einladen. Direkt schreiben können Sie weiterhin.",
                "You cannot create chat rooms or invite anyone. You can still write to people directly.",
            ),
            Rule::GroupRoomManaged => message(
                "Wer in diesem Raum ist, bestimmt die Schule nach dem Schulverzeichnis. Einladen kann hier niemand von Hand.",
                "Wer in diesem Raum ist, bestimmt die Schule nach dem Schulverzeichnis. Einladen kann hier niemand von Hand.",
                "The school decides who is in this room, following the school directory. Nobody can invite people here by hand.",
            ),
            Rule::ManagedRoomStaffOnly => message(
                "In den Räumen der Schule können nur Lehrkräfte Einstellungen ändern und Personen entfernen. Frag eine Lehrkraft.",
                "In den Räumen der Schule können nur Lehrkräfte und die Schulleitung Einstellungen ändern und Personen entfernen. Bitte fragen Sie eine Lehrkraft.",
                "In the school's rooms only teachers and the school management can change settings or remove people. Please ask a teacher.",
            ),
            Rule::ManagedRoomLeave => message(
                "Aus den Räumen deiner Klasse und Gruppen kannst du nicht austreten, das regelt die Schule. Du kannst den Raum aber stummschalten.",
                "Aus den Räumen Ihrer Klassen und Gruppen können Sie nicht austreten, das regelt die Schule. Sie können den Raum aber stummschalten.",
                "You cannot leave the rooms of your class and groups; the school manages them. You can mute the room, though.",
            ),
            Rule::ManagedRoomReserved => message(
                "Räume, die die Schule verwaltet, legt nur der Dienst der Schule an. Lege deinen Raum ohne das Kennzeichen „de.schulhof.managed“ an.",
                "Räume, die die Schule verwaltet, legt nur der Dienst der Schule an. Bitte legen Sie Ihren Raum ohne das Kennzeichen „de.schulhof.managed“ an.",
                "Only the school's service creates rooms the school manages. Create your room without the “de.schulhof.managed” marker.",
            ),
            Rule::JoinRequiresInvite => message(
                "Du kannst nur Räumen beitreten, in die dich jemand eingeladen hat. Frag eine Lehrkraft nach einer Einladung.",
                "Sie können nur Räumen beitreten, in die Sie eingeladen wurden. Bitten Sie eine Lehrkraft um eine Einladung.",
                "You can only join rooms you were invited to. Ask a teacher for an invitation.",
            ),
            Rule::RoomPublicStaffOnly => message(
                "Nur Lehrkräfte können Räume öffentlich oder auffindbar machen. Frag eine Lehrkraft, wenn andere den Raum finden sollen.",
                "Nur Lehrkräfte und die Schulleitung können Räume öffentlich oder auffindbar machen. Bitte fragen Sie eine Lehrkraft, wenn andere den Raum finden sollen.",
                "Only teachers and the school management can make rooms public or findable. Ask a teacher if others should find the room.",
            ),
            Rule::RoomSettingsStaffOnly => message(
                "Diese Raumeinstellung können nur Lehrkräfte ändern. Frag eine Lehrkraft, wenn sie geändert werden soll.",
                "Diese Raumeinstellung können nur Lehrkräfte und die Schulleitung ändern. Bitte fragen Sie eine Lehrkraft.",
                "Only teachers and the school management can change this room setting. Please ask a teacher.",
            ),
            Rule::PowerLevelRaiseSelf => message(
                "Deine eigenen Rechte in einem Raum kannst du nicht erhöhen. Das kann nur, wer im Raum mehr Rechte hat.",
                "Ihre eigenen Rechte in einem Raum können Sie nicht erhöhen. Das kann nur, wer im Raum mehr Rechte hat.",
                "You cannot raise your own permissions in a room. Only someone with more permissions in the room can.",
            ),
            Rule::RoomNameNotAllowed => message(
                "Name, Thema und Bild von Räumen kannst du nicht ändern. Frag eine Lehrkraft, wenn etwas geändert werden soll.",
                "Name, Thema und Bild von Räumen können Sie nicht ändern. Bitte fragen Sie eine Lehrkraft.",
                "You cannot change the name, topic or picture of rooms. Please ask a teacher.",
            ),
            Rule::EncryptionDisabled => message(
                "Die Schule hat die Ende-zu-Ende-Verschlüsselung abgeschaltet. Du kannst den Raum ohne sie nutzen.",
                "Die Schule hat die Ende-zu-Ende-Verschlüsselung abgeschaltet. Sie können den Raum ohne sie nutzen.",
                "The school has switched off end-to-end encryption. You can use the room without it.",
            ),
            Rule::RoomUpgradeStaffOnly => message(
                "Nur Lehrkräfte können Räume aktualisieren. Der Raum funktioniert weiter wie bisher.",
                "Nur Lehrkräfte und die Schulleitung können Räume aktualisieren. Der Raum funktioniert weiter wie bisher.",
                "Only teachers and the school management can upgrade rooms. The room keeps working as before.",
            ),
            Rule::DirectoryNotVisible => message(
                "Du findest nur Personen, denen du schreiben darfst: aus deiner Klasse, deinen Gruppen und Lehrkräfte. Fehlt jemand, frag eine Lehrkraft.",
                "Sie finden nur Personen, denen Sie schreiben dürfen, zum Beispiel Lehrkräfte. Fehlt jemand, fragen Sie bitte eine Lehrkraft.",
                "You only find people you may write to, for example teachers. If someone is missing, please ask a teacher.",
            ),
            Rule::CreateGroupNotAllowed => message(
                "Du kannst keine Gruppen anlegen. Das können Lehrkräfte.",
                "Sie können keine Gruppen anlegen. Bitte wenden Sie sich an eine Lehrkraft.",
                "You cannot create groups. Please ask a teacher.",
            ),
            Rule::InviteGroupNotAllowed => message(
                "Du kannst keine ganzen Gruppen einladen. Frag eine Lehrkraft.",
                "Sie können keine ganzen Gruppen einladen. Laden Sie einzelne Personen ein.",
                "You cannot invite whole groups. Invite single people instead.",
            ),
            Rule::UnknownGroup => message(
                "Diese Gruppe gibt es nicht. Prüf den Namen.",
                "Diese Gruppe gibt es nicht. Bitte prüfen Sie den Namen.",
                "This group does not exist. Please check the name.",
            ),
            Rule::ResetPasswordNotAllowed => message(
                "Du kannst keine Passwörter zurücksetzen. Wer sein Passwort vergessen hat, fragt eine Lehrkraft.",
                "Sie können keine Passwörter zurücksetzen. Wer sein Passwort vergessen hat, wendet sich an eine Lehrkraft oder die Schulleitung.",
                "You cannot reset passwords. Anyone who forgot their password can ask a teacher or the school management.",
            ),
            Rule::ResetPasswordOutsideGroups => message(
                "Du kannst nur Passwörter von Schülerinnen und Schülern deiner Klassen und Gruppen und von deren Eltern zurücksetzen. Für andere frag deren Lehrkraft oder die Schulleitung.",
                "Sie können nur Passwörter von Schülerinnen und Schülern Ihrer Klassen und Gruppen und von deren Eltern zurücksetzen. Für andere wenden Sie sich an deren Lehrkraft oder die Schulleitung.",
                "You can only reset the passwords of students of your classes and groups and of their parents. For others, ask their teacher or the school management.",
            ),
            Rule::SetTaskNotAllowed => message(
                "Du kannst keine Aufgaben stellen. Aufgaben stellen die Lehrkräfte.",
                "Sie können keine Aufgaben stellen. Aufgaben stellen die Lehrkräfte.",
                "You cannot set tasks. Teachers set tasks.",
            ),
            Rule::SubmitTaskNotAllowed => message(
                "Du kannst keine Aufgaben abgeben. Frag deine Lehrkraft, wie du sie abgeben sollst.",
                "Sie können keine Aufgaben bearbeiten und abgeben. Bitte fragen Sie die Lehrkraft, wie Sie sie abgeben sollen.",
                "You cannot do and hand in tasks. Please ask the teacher how to hand them in.",
            ),
            Rule::StartVideoNotAllowed => message(
                "Du kannst keine Videokonferenz starten. Wenn eine Lehrkraft eine startet, kannst du teilnehmen.",
                "Sie können keine Videokonferenz starten. Wenn eine Lehrkraft eine startet, können Sie teilnehmen.",
                "You cannot start a video conference. When a teacher starts one, you can join.",
            ),
            Rule::JoinVideoNotAllowed => message(
                "Du kannst nicht an Videokonferenzen teilnehmen. Schreib stattdessen im Chat.",
                "Sie können nicht an Videokonferenzen teilnehmen. Schreiben Sie stattdessen im Chat.",
                "You cannot join video conferences. Write in the chat instead.",
            ),
            Rule::AdminOnly => message(
                "Das kann nur die Schulleitung. Frag dort nach.",
                "Das kann nur die Schulleitung. Bitte wenden Sie sich an sie.",
                "Only the school management can do this. Please ask them.",
            ),
            Rule::DisplayNameNotAllowed => message(
                "Deinen Namen kannst du nicht ändern, er kommt aus dem Schulverzeichnis. Ist er falsch, sag es im Sekretariat.",
                "Ihren Namen können Sie nicht ändern, er kommt aus dem Schulverzeichnis. Ist er falsch, wenden Sie sich bitte an das Sekretariat.",
                "You cannot change your name; it comes from the school directory. If it is wrong, please tell the school office.",
            ),
            Rule::AvatarNotAllowed => message(
                "Du kannst kein Profilbild festlegen. Das hat die Schule so eingestellt.",
                "Sie können kein Profilbild festlegen. Das hat die Schule so eingestellt.",
                "You cannot set a profile picture. The school has set it up that way.",
            ),
            Rule::PasswordChangeNotAllowed => message(
                "Dein Passwort kannst du nicht selbst ändern. Eine Lehrkraft kann es für dich zurücksetzen.",
                "Ihr Passwort können Sie nicht selbst ändern. Eine Lehrkraft oder die Schulleitung kann es zurücksetzen.",
                "You cannot change your password yourself. A teacher or the school management can reset it.",
            ),
        }
    }
}

impl Action<'_> {
    /// What was refused, in a few words: the first line of a server notice.
    pub const fn refused(&self) -> Line {
        let (de, en) = match self {
            Action::CreateRoom { direct: true, .. } => (
                "Der Chat wurde nicht gestartet.",
                "The chat was not started.",
            ),
            Action::CreateRoom { .. } => (
                "Der Raum wurde nicht angelegt.",
                "The room was not created.",
            ),
            Action::Invite { .. } => (
                "Die Einladung wurde nicht verschickt.",
                "The invitation was not sent.",
            ),
            Action::Join { .. } => (
                "Der Beitritt zum Raum ging nicht.",
                "Joining the room did not work.",
            ),
            Action::Leave { .. } => ("Der Raum wurde nicht verlassen.", "The room was not left."),
            Action::SendMessage { .. } => (
                "Die Nachricht wurde nicht gesendet.",
                "The message was not sent.",
            ),
            Action::ChangeRoomState { .. } => (
                "Die Raumeinstellung wurde nicht geändert.",
                "The room setting was not changed.",
            ),
            Action::UpgradeRoom => (
                "Der Raum wurde nicht aktualisiert.",
                "The room was not upgraded.",
            ),
            Action::PublishRoom => (
                "Der Raum wurde nicht veröffentlicht.",
                "The room was not published.",
            ),
            Action::SearchDirectory { .. } => (
                "Die Suche hat niemanden gefunden.",
                "The search found nobody.",
            ),
            Action::Contact { .. } => (
                "Diese Person ist von hier aus nicht erreichbar.",
                "This person cannot be reached from here.",
            ),
            Action::ChangeMembership { .. } => (
                "Die Mitgliedschaft wurde nicht geändert.",
                "The membership was not changed.",
            ),
            Action::CreateSpace => (
                "Der Bereich wurde nicht angelegt.",
                "The space was not created.",
            ),
            Action::Report => (
                "Die Meldung wurde nicht verschickt.",
                "The report was not sent.",
            ),
            Action::CreateGroup => (
                "Die Gruppe wurde nicht angelegt.",
                "The group was not created.",
            ),
            Action::AddGroupMember { .. } => (
                "Die Person wurde nicht in die Gruppe aufgenommen.",
                "The person was not added to the group.",
            ),
            Action::InviteGroup { .. } => (
                "Die Gruppe wurde nicht eingeladen.",
                "The group was not invited.",
            ),
            Action::ResetPassword { .. } => (
                "Das Passwort wurde nicht zurückgesetzt.",
                "The password was not reset.",
            ),
            Action::SetTask => ("Die Aufgabe wurde nicht gestellt.", "The task was not set."),
            Action::SubmitTask => (
                "Die Aufgabe wurde nicht abgegeben.",
                "The task was not handed in.",
            ),
            Action::StartVideoConference => (
                "Die Videokonferenz wurde nicht gestartet.",
                "The video conference was not started.",
            ),
            Action::JoinVideoConference => (
                "Die Teilnahme an der Videokonferenz ging nicht.",
                "Joining the video conference did not work.",
            ),
            Action::ImportUsers => (
                "Der Import wurde nicht ausgeführt.",
                "The import was not run.",
            ),
            Action::ChangeRights => (
                "Die Rechte wurden nicht geändert.",
                "The rights were not changed.",
            ),
            Action::AdminJoin { .. } => (
                "Die Person wurde nicht in den Raum aufgenommen.",
                "The person was not made to join the room.",
            ),
            Action::ChangeDisplayName => (
                "Der Name wurde nicht geändert.",
                "The name was not changed.",
            ),
            Action::ChangeAvatar => (
                "Das Profilbild wurde nicht geändert.",
                "The profile picture was not changed.",
            ),
            Action::ChangePassword => (
                "Das Passwort wurde nicht geändert.",
                "The password was not changed.",
            ),
        };
        Line { de, en }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Managed;

    /// Words that address the reader formally, and informally.
    const FORMAL: [&str; 6] = ["Sie", "Ihr", "Ihre", "Ihrer", "Ihren", "Ihnen"];
    const INFORMAL: [&str; 9] = [
        "du", "dich", "dir", "dein", "deine", "deiner", "deinen", "deinem", "euch",
    ];

    /// The words of a text, without punctuation.
    fn words(text: &str) -> impl Iterator<Item = &str> {
        text.split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
    }

    /// Fails unless `text` is a short sentence (or two) in the given form.
    fn check(what: &str, text: &str, forbidden: &[&str]) {
        assert!(!text.is_empty(), "{what} is empty");
        assert!(
            text.ends_with('.'),
            "{what} does not end a sentence: {text}"
        );
        assert!(text.chars().count() <= 190, "{what} is too long: {text}");
        let found: Vec<&str> = words(text).filter(|w| forbidden.contains(w)).collect();
        assert!(
            found.is_empty(),
            "{what} addresses the reader the other way ({found:?}): {text}"
        );
    }

    #[test]
    fn every_rule_has_both_forms_and_english() {
        for rule in Rule::ALL {
            let text = rule.text();
            check(&format!("{rule} (du)"), text.du, &FORMAL);
            check(&format!("{rule} (Sie)"), text.sie, &INFORMAL);
            check(&format!("{rule} (en)"), text.en, &[]);
            assert_eq!(text.de(Address::Du), text.du);
            assert_eq!(text.de(Address::Sie), text.sie);
        }
        for (what, text) in [
            ("room topic", NOTICE_ROOM_TOPIC),
            ("login without consent", LOGIN_NO_CONSENT),
            ("login with a start code", LOGIN_START_CODE),
        ] {
            check(&format!("{what} (du)"), text.du, &FORMAL);
            check(&format!("{what} (Sie)"), text.sie, &INFORMAL);
            check(&format!("{what} (en)"), text.en, &[]);
        }
    }

    #[test]
    fn no_text_speaks_of_members_of_their_own_groups() {
        for rule in Rule::ALL {
            let text = rule.text();
            for german in [text.du, text.sie] {
                assert!(!german.contains("Mitglieder"), "{rule}: {german}");
                assert!(
                    !german.contains("Schülerinnen und Schüler können"),
                    "{rule}: {german}"
                );
            }
        }
    }

    #[test]
    fn refusals_name_what_was_refused() {
        let invitees = ["ben"];
        let direct = Action::CreateRoom {
            direct: true,
            invitees: &invitees,
            public: false,
            managed: Managed::No,
        };
        let room = Action::CreateRoom {
            direct: false,
            invitees: &invitees,
            public: false,
            managed: Managed::No,
        };
        assert_eq!(direct.refused().de, "Der Chat wurde nicht gestartet.");
        assert_eq!(room.refused().en, "The room was not created.");
    }
}
