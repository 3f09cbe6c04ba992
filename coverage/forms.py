"""The embed form: paste a link or a provider's embed code, get the card's fields filled."""

from django import forms

from coverage.embeds import EmbedError, recognise
from coverage.models import Embed, search_words
from coverage.sanitize import plain_text

# The fields a paste decides: what the card is and what it says.
CARD_FIELDS = ["kind", "url", "provider", "title", "author_name", "author_handle", "text"]
PLAIN_TEXT_FIELDS = ["provider", "title", "author_name", "author_handle", "text"]
PLAIN_TEXT_FIELDS += ["caption", "credit", "alt_text"]


class EmbedForm(forms.ModelForm):
    paste = forms.CharField(
        label="Paste a link or embed code",
        required=False,
        max_length=50_000,
        widget=forms.Textarea(
            attrs={"rows": 3, "cols": 80, "placeholder": "https://…  or  <blockquote …>"}
        ),
        help_text="A link to a post, video or page, or the code a site gives under “Embed”. "
        "The card is filled from it; anything you type in the fields below as well is kept. "
        "The embed code itself is not stored.",
    )

    class Meta:
        model = Embed
        fields = [
            "kind",
            "position",
            "url",
            "provider",
            "title",
            "author_name",
            "author_handle",
            "text",
            "posted_at",
            "image",
            "caption",
            "credit",
            "alt_text",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            self.fields["kind"].required = False
            self.fields["kind"].help_text = "Leave empty to let the pasted link decide."

    def clean(self):
        data = super().clean()
        for name in PLAIN_TEXT_FIELDS:
            # Control characters would break the XML feeds; stray spaces the card.
            # Only the text keeps its line breaks: the card shows it line by line.
            if isinstance(data.get(name), str):
                data[name] = plain_text(data[name], keep_lines=name == "text")
        pasted = data.get("paste", "")
        if pasted:
            try:
                found = recognise(pasted)
            except EmbedError as error:
                self.add_error("paste", str(error))
                return data
            self.fill_from(found)
        elif not data.get("kind"):
            self.guess_kind()
        # What each kind needs (an image's caption, credit, alt) is Embed.clean's
        # rule, which the model form applies after this.
        return data

    def fill_from(self, found):
        """A paste makes the card that link; fields typed alongside it win."""
        data = self.cleaned_data
        typed = {name for name in self.changed_data if data.get(name)}
        for name in [*CARD_FIELDS, "posted_at"]:
            if name not in typed:
                data[name] = getattr(found, name) or (None if name == "posted_at" else "")

    def guess_kind(self):
        """No paste and no kind chosen: an upload is an image, a link decides itself."""
        data = self.cleaned_data
        if data.get("image"):
            data["kind"] = Embed.Kind.IMAGE
        elif data.get("url"):
            try:
                self.fill_from(recognise(data["url"]))
            except EmbedError as error:
                self.add_error("url", str(error))
        elif "url" not in self.errors:
            self.add_error("kind", "Choose a kind, or paste a link or embed code above.")


class SearchForm(forms.Form):
    """The readers' search box (GET). Capped: a query is words, not a document."""

    MAX_LENGTH = 200

    q = forms.CharField(
        label="Search updates",
        max_length=MAX_LENGTH,
        error_messages={
            "required": "Type a word or two to search for.",
            "max_length": f"Searches are limited to {MAX_LENGTH} characters; try fewer words.",
        },
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search updates"}),
    )

    def clean_q(self):
        q = self.cleaned_data["q"]
        if not search_words(q):
            raise forms.ValidationError("Type a word or two to search for.")
        return q
