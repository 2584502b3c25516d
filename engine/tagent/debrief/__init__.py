"""tagent.debrief: what happened, told afterwards.

    render_postmortem(incident, redact)      deterministic Markdown post-mortem from the timeline (postmortem)
    night_debrief(store, since, until)       the morning debrief, spoken-style text (debrief)
    speak(text, path)                        that text as a WAV file through espeak-ng
    export_postmortems(store, directory)     the stored post-mortems as Markdown files
"""
