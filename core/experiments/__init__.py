"""The labeler experiment: do LLM labels train better bots than rules or the next candle's close?"""
