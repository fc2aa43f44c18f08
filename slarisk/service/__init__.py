"""slarisk.service"""
