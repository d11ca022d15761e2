//! HTML building blocks: escaping, the shared page layout and accessible form fields.

use std::fmt::Write;

use crate::config::Language;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Picks the German or the English text.
pub fn tr<'a>(lang: Language, de: &'a str, en: &'a str) -> &'a str {
    match lang {
        Language::De => de,
        Language::En => en,
    }
}

/// The value of the `lang` attribute.
fn lang_code(lang: Language) -> &'static str {
    match lang {
        Language::De => "de",
        Language::En => "en",
    }
}

/// Styles of every page: readable on phones, large touch targets, visible focus, contrast
/// at least 4.5:1, letters printable.
const CSS: &str = "
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
button,input,textarea{font-family:inherit}
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:1.0625rem;
line-height:1.5;color:#1a1a1a;background:#f3f5f7}
.top{display:flex;justify-content:space-between;align-items:center;gap:1rem;padding:.75rem 1rem;
background:#0b4f8a;color:#fff}
.top p{margin:0;font-weight:600}
.top a{color:#fff;padding:.5rem;min-height:44px;display:inline-flex;align-items:center}
main{max-width:34rem;margin:0 auto;padding:1.25rem 1rem 3rem}
.card{background:#fff;border:1px solid #c9d1d9;border-radius:.5rem;padding:1.25rem}
.card>:first-child{margin-top:0}.card>:last-child{margin-bottom:0}
h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 1rem}
h2{font-size:1.2rem;line-height:1.3;margin:0 0 .75rem}
.card+.card{margin-top:1rem}
.field{margin:0 0 1.1rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
.hint{margin:0 0 .35rem;color:#4a5560;font-size:.95rem}
input[type=text],input[type=password],input[type=time],textarea{display:block;width:100%;min-height:48px;padding:.6rem .75rem;
font-size:1.125rem;color:#1a1a1a;background:#fff;border:2px solid #5b6670;border-radius:.375rem}
input[aria-invalid=true]{border-color:#b00020}
input:focus,button:focus,a:focus{outline:3px solid #f2a900;outline-offset:2px}
button{display:block;width:100%;min-height:48px;padding:.7rem 1rem;font-size:1.125rem;font-weight:600;
color:#fff;background:#0b5cad;border:0;border-radius:.375rem;cursor:pointer}
button:hover{background:#094a8c}
button.link{display:inline;width:auto;min-height:44px;padding:.5rem 0;background:none;color:#0b4f8a;
text-decoration:underline;font-weight:400;font-size:1rem}
.error{border-left:6px solid #b00020;background:#fdecee;color:#5c0011;padding:.75rem 1rem;margin:0 0 1rem;
border-radius:.25rem}
.ok{border-left:6px solid #1e7b34;background:#e8f5eb;color:#0f3d1a;padding:.75rem 1rem;margin:0 0 1rem;
border-radius:.25rem}
.error p,.ok p{margin:0}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:1.05em;overflow-wrap:anywhere}
.who{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:.5rem;margin:0 0 1rem}
.who p{margin:0}
@media print{.top,.no-print{display:none}body{background:#fff}main{max-width:none;padding:0}
.card{border:0;padding:0}}
";

/// Styles of the toolbar above a printable access letter (the letter brings its own styles).
pub const TOOLBAR_CSS: &str = "
.toolbar-wrap{max-width:17cm;margin:0 auto;padding:1rem 1rem 0;font-size:1.0625rem}
.ok{border-left:6px solid #1e7b34;background:#e8f5eb;color:#0f3d1a;padding:.75rem 1rem;margin:0 0 1rem;
border-radius:.25rem}
.ok p{margin:0}
.toolbar{display:flex;flex-wrap:wrap;gap:.75rem}
.toolbar button,.toolbar a{flex:1 1 12rem;display:inline-flex;justify-content:center;align-items:center;
min-height:48px;padding:.7rem 1rem;font:inherit;font-weight:600;border-radius:.375rem;cursor:pointer}
.toolbar button{color:#fff;background:#0b5cad;border:0}
.toolbar button[hidden]{display:none}
.toolbar a{border:2px solid #0b5cad;color:#0b4f8a;text-decoration:none;background:#fff}
.toolbar button:focus,.toolbar a:focus{outline:3px solid #f2a900;outline-offset:2px}
@media print{.no-print{display:none}}
";

/// One page: title, content, and the path its language switch points to.
pub struct Layout<'a> {
    /// Language of the page.
    pub lang: Language,
    /// Name of the school (from the configuration).
    pub school: &'a str,
    /// Page title, also the `h1`.
    pub title: &'a str,
    /// Whether the page shows an error (the title says so first, for screen readers).
    pub has_error: bool,
    /// Path of this page, for the language switch.
    pub path: &'a str,
    /// Already escaped HTML of the main content.
    pub body: &'a str,
}

/// Renders the shared layout around a page's content.
pub fn layout(page: &Layout) -> String {
    let (other, other_name) = match page.lang {
        Language::De => (Language::En, "English"),
        Language::En => (Language::De, "Deutsch"),
    };
    let error_prefix = if page.has_error {
        tr(page.lang, "Fehler: ", "Error: ")
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{error_prefix}{title} – {school}</title>\n<style>{CSS}</style>\n</head>\n\
         <body>\n<header class=\"top\"><p>{school}</p>\
         <a href=\"{path}?lang={other_code}\" lang=\"{other_code}\" hreflang=\"{other_code}\">{other_name}</a>\
         </header>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        lang = lang_code(page.lang),
        title = escape(page.title),
        school = escape(page.school),
        path = escape(page.path),
        other_code = lang_code(other),
        body = page.body,
    )
}

/// Id of the error box that invalid fields point to with `aria-describedby`.
pub const ERROR_ID: &str = "form-error";

/// The error box, announced by screen readers (`role="alert"`).
pub fn error_box(message: &str) -> String {
    format!(
        "<div class=\"error\" role=\"alert\" id=\"{ERROR_ID}\"><p>{}</p></div>\n",
        escape(message)
    )
}

/// A success message.
pub fn ok_box(html: &str) -> String {
    format!("<div class=\"ok\" role=\"status\">{html}</div>\n")
}

/// A labelled text, password or time input.
pub struct Input<'a> {
    /// Form field name, also the element id.
    pub name: &'a str,
    /// Visible label.
    pub label: &'a str,
    /// `text`, `password` or `time`.
    pub kind: &'a str,
    /// The `autocomplete` token (`username`, `one-time-code`, `new-password` ...).
    pub autocomplete: &'a str,
    /// Current value (never used for passwords).
    pub value: &'a str,
    /// Help text under the label.
    pub hint: Option<&'a str>,
    /// Whether the error box is about this field.
    pub invalid: bool,
    /// Further attributes, already valid HTML (e.g. `inputmode="numeric"`).
    pub attrs: &'a str,
}

/// Renders an input with its label, help text and error link.
pub fn input(i: &Input) -> String {
    let mut described = Vec::new();
    let mut html = format!(
        "<div class=\"field\">\n<label for=\"{0}\">{1}</label>\n",
        i.name,
        escape(i.label)
    );
    if let Some(hint) = i.hint {
        let _ = writeln!(
            html,
            "<p class=\"hint\" id=\"{}-hint\">{}</p>",
            i.name,
            escape(hint)
        );
        described.push(format!("{}-hint", i.name));
    }
    if i.invalid {
        described.push(ERROR_ID.to_owned());
    }
    let _ = write!(
        html,
        "<input id=\"{0}\" name=\"{0}\" type=\"{1}\" autocomplete=\"{2}\" required {3}",
        i.name, i.kind, i.autocomplete, i.attrs
    );
    if !i.value.is_empty() {
        let _ = write!(html, " value=\"{}\"", escape(i.value));
    }
    if !described.is_empty() {
        let _ = write!(html, " aria-describedby=\"{}\"", described.join(" "));
    }
    if i.invalid {
        html.push_str(" aria-invalid=\"true\" autofocus");
    }
    html.push_str(">\n</div>\n");
    html
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n",
        escape(token)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_attributes() {
        let cases = [
            ("plain", "plain"),
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("a\"b'c", "a&quot;b&#39;c"),
            ("Tom & Jerry", "Tom &amp; Jerry"),
            ("&amp;", "&amp;amp;"),
            ("Müller – Groß", "Müller – Groß"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape(raw), escaped);
        }
    }

    #[test]
    fn input_links_hint_and_error() {
        let html = input(&Input {
            name: "username",
            label: "Benutzername",
            kind: "text",
            autocomplete: "username",
            value: "x\"><b>",
            hint: Some("z. B. anna.schmidt"),
            invalid: true,
            attrs: "",
        });
        assert!(html.contains("<label for=\"username\">Benutzername</label>"));
        assert!(html.contains("aria-describedby=\"username-hint form-error\""));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("value=\"x&quot;&gt;&lt;b&gt;\""));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn layout_escapes_school_name_and_sets_language() {
        let html = layout(&Layout {
            lang: Language::En,
            school: "A<B>",
            title: "T",
            has_error: true,
            path: "/erstanmeldung",
            body: "",
        });
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<title>Error: T – A&lt;B&gt;</title>"));
        assert!(html.contains("href=\"/erstanmeldung?lang=de\""));
        assert!(html.contains("name=\"viewport\""));
    }
}
