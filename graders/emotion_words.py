"""Word families for emotion labels: the plain words a careful human reads as naming one emotion.

Emotion tasks (MELD, EmoryNLP, DailyDialog) name the same emotions with different labels ("anger",
"Mad"); a task file maps each of its labels to one family here (`families:` in the label grader's
options) instead of repeating the word lists. A family holds the noun, adjective and participle forms
models write ("frustration", "frustrated"); words that name two emotions ("upset", "hurt") are in
none, so they read as no answer.
"""

from __future__ import annotations

EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "neutral": (
        "neutral", "neutrality", "no emotion", "emotionless", "matter of fact", "no particular emotion",
        "no specific emotion", "no strong emotion", "no clear emotion", "no discernible emotion",
        "no obvious emotion", "no apparent emotion", "no evident emotion", "no notable emotion",
        "no emotional tone",
    ),
    "joy": (
        "joy", "joyful", "joyous", "happy", "happiness", "excited", "excitement", "cheerful", "glad",
        "delighted", "delight", "amused", "amusement", "elated", "elation", "thrilled", "pleased", "ecstatic",
        "overjoyed", "enthusiastic", "enthusiasm",
    ),
    "surprise": (
        "surprise", "surprised", "shocked", "shock", "astonished", "astonishment", "amazed", "amazement",
        "startled", "stunned", "disbelief", "astounded", "incredulous", "incredulity", "taken aback",
    ),
    "anger": (
        "anger", "angry", "angered", "mad", "annoyed", "annoyance", "irritated", "irritation", "frustrated",
        "frustration", "furious", "fury", "rage", "enraged", "outraged", "outrage", "irate", "indignant",
        "indignation", "resentful", "resentment", "hostile", "hostility", "exasperated", "exasperation", "livid",
        "infuriated", "incensed",
    ),
    "sadness": (
        "sadness", "sad", "sorrow", "sorrowful", "unhappy", "unhappiness", "grief", "grieving", "melancholy",
        "despair", "heartbroken", "dejected", "disappointed", "disappointment", "depressed", "miserable", "gloomy",
        "downcast", "lonely", "loneliness",
    ),
    "disgust": ("disgust", "disgusted", "disgusting", "revulsion", "revolted", "repulsed", "grossed out"),
    "fear": (
        "fear", "afraid", "scared", "fearful", "frightened", "fright", "terrified", "terror", "panic",
        "panicked", "alarmed", "anxious", "anxiety", "worried", "nervous", "nervousness", "apprehensive",
        "apprehension",
    ),
    "peace": ("peace", "peaceful", "calm", "content", "contentment", "relaxed", "serene", "serenity", "tranquil"),
    "power": ("power", "powerful", "confident", "confidence", "proud", "pride", "empowered", "assertive", "self assured"),
}
